//! The Jinja environment models render in: dbt's context (`ref`, `source`, `config`,
//! `this`, `is_incremental()`, `var`, `env_var`, `target`, `log`, `execute`,
//! `invocation_id`, `project_name`), the project's
//! macros, and dbt's cross-database macros rendered as SQL DataFusion runs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{Kwargs, Object, Serde};
use minijinja::{Environment, Error, ErrorKind, Value};

/// The template every model imports the project's macros from.
pub(crate) const MACROS_TEMPLATE: &str = "__project_macros__";

/// The schema every model's relation lives in (`gold.<model>`).
pub const GOLD_SCHEMA: &str = "gold";

/// How `ref` and `source` name relations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Relations {
    /// Model name → the SQL that names it (`gold.x`, or `__dbt__cte__x` if ephemeral).
    pub models: BTreeMap<String, String>,
    /// (source, table) → the SQL that names it (`silver.trips`).
    pub sources: BTreeMap<(String, String), String>,
}

/// What one render did and may use: filled by the context functions.
#[derive(Debug, Default)]
pub(crate) struct RenderState {
    /// The node being rendered.
    pub node: String,
    /// Its relation, for `this`.
    pub this: String,
    /// What `is_incremental()` answers.
    pub incremental: bool,
    /// Models it refs.
    pub refs: BTreeSet<String>,
    /// Sources it reads.
    pub sources: BTreeSet<(String, String)>,
    /// Keys passed to `config()`.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Lines passed to `log()`.
    pub logs: Vec<String>,
}

/// The rendering environment of one project. A clone shares the environment and its
/// render state (the functions `ref`, `source` and `config` record into it), so one
/// project and its clones render one template at a time, as one project does.
#[derive(Clone)]
pub(crate) struct Renderer {
    env: Environment<'static>,
    state: Arc<Mutex<RenderState>>,
    relations: Arc<Mutex<Relations>>,
    macro_names: Vec<String>,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("macros", &self.macro_names)
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `this`: the relation of the node being rendered.
#[derive(Debug)]
struct ThisRelation {
    state: Arc<Mutex<RenderState>>,
}

impl Object for ThisRelation {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let state = lock(&self.state);
        Some(match key.as_str()? {
            "name" | "identifier" | "table" => Value::from(state.node.clone()),
            "schema" => Value::from(GOLD_SCHEMA),
            "database" => Value::from("medallion"),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&lock(&self.state).this)
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// A SQL expression argument: a string as it is, anything else as its display.
fn sql(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// `dbt.datediff`: whole `datepart` boundaries from `first` to `second`.
fn datediff(first: &str, second: &str, datepart: &str) -> Result<String, Error> {
    let seconds = |unit: &str, per: u32| {
        format!(
            "CAST(floor((to_unixtime(date_trunc('{unit}', CAST({second} AS TIMESTAMP))) - to_unixtime(date_trunc('{unit}', CAST({first} AS TIMESTAMP)))) / {per}) AS BIGINT)"
        )
    };
    let part = |name: &str, of: &str| format!("date_part('{name}', CAST({of} AS TIMESTAMP))");
    // Months or quarters: whole years times `per_year`, plus the difference of the part.
    let within_years = |name: &str, per_year: u32| {
        format!(
            "CAST(({y2} - {y1}) * {per_year} + {p2} - {p1} AS BIGINT)",
            y1 = part("year", first),
            y2 = part("year", second),
            p1 = part(name, first),
            p2 = part(name, second)
        )
    };
    Ok(match datepart.to_ascii_lowercase().as_str() {
        "second" => seconds("second", 1),
        "minute" => seconds("minute", 60),
        "hour" => seconds("hour", 3600),
        "day" => seconds("day", 86_400),
        "week" => seconds("week", 604_800),
        "month" => within_years("month", 12),
        "quarter" => within_years("quarter", 4),
        "year" => format!(
            "CAST({} - {} AS BIGINT)",
            part("year", second),
            part("year", first)
        ),
        other => return Err(invalid(format!("dbt.datediff: unknown datepart {other:?}"))),
    })
}

/// `dbt.dateadd`: `from` moved by `interval` (a number or an expression) `datepart`s.
/// DataFusion cannot multiply an interval, so an expression moves the epoch seconds.
fn dateadd(datepart: &str, interval: &str, from: &str) -> Result<String, Error> {
    let interval = interval.trim();
    let literal = !interval.is_empty()
        && interval
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit());
    if literal {
        return Ok(format!("({from} + INTERVAL '{interval} {datepart}')"));
    }
    let seconds = match datepart.to_ascii_lowercase().as_str() {
        "second" => 1,
        "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        "week" => 604_800,
        other => {
            return Err(invalid(format!(
                "dbt.dateadd: an expression interval works in seconds, minutes, hours, days or weeks, not {other}"
            )))
        }
    };
    Ok(format!(
        "to_timestamp_seconds(to_unixtime({from}) + ({interval}) * {seconds})"
    ))
}

/// dbt's cross-database macros, as a `dbt` namespace of functions.
fn dbt_namespace() -> Value {
    let mut functions: BTreeMap<&str, Value> = BTreeMap::new();
    functions.insert(
        "date_trunc",
        Value::from_function(|datepart: String, date: Value| {
            format!("date_trunc('{datepart}', {})", sql(&date))
        }),
    );
    functions.insert(
        "datediff",
        Value::from_function(|first: Value, second: Value, datepart: String| {
            datediff(&sql(&first), &sql(&second), &datepart)
        }),
    );
    functions.insert(
        "dateadd",
        Value::from_function(
            |datepart: String, interval: Value, from: Value| -> Result<String, Error> {
                dateadd(&datepart, &sql(&interval), &sql(&from))
            },
        ),
    );
    functions.insert(
        "safe_cast",
        Value::from_function(|field: Value, data_type: Value| {
            format!("TRY_CAST({} AS {})", sql(&field), sql(&data_type))
        }),
    );
    functions.insert(
        "current_timestamp",
        Value::from_function(|| "now()".to_owned()),
    );
    functions.insert(
        "concat",
        Value::from_function(|fields: Value| -> Result<String, Error> {
            let parts = fields
                .try_iter()?
                .map(|field| sql(&field))
                .collect::<Vec<_>>();
            Ok(format!("concat({})", parts.join(", ")))
        }),
    );
    functions.insert(
        "hash",
        Value::from_function(|field: Value| format!("md5(CAST({} AS VARCHAR))", sql(&field))),
    );
    functions.insert(
        "string_literal",
        Value::from_function(|value: String| format!("'{}'", value.replace('\'', "''"))),
    );
    for (name, data_type) in [
        ("type_string", "VARCHAR"),
        ("type_timestamp", "TIMESTAMP"),
        ("type_numeric", "DECIMAL(28, 6)"),
        ("type_int", "INTEGER"),
        ("type_bigint", "BIGINT"),
        ("type_float", "DOUBLE"),
        ("type_boolean", "BOOLEAN"),
    ] {
        functions.insert(name, Value::from_function(move || data_type.to_owned()));
    }
    Value::from(functions)
}

/// `serde_json` of a Jinja value (undefined and none are null).
fn to_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl Renderer {
    /// An environment with the project's macro files (path, text), its name, its vars
    /// and the target's name.
    pub(crate) fn new(
        macros: &[(String, String)],
        project_name: &str,
        vars: BTreeMap<String, serde_json::Value>,
        target_name: &str,
    ) -> Result<Self, Error> {
        let mut env = Environment::new();
        let state = Arc::new(Mutex::new(RenderState::default()));
        let relations = Arc::new(Mutex::new(Relations::default()));

        // The macros live in one template every model imports from, so that macros can
        // call each other as dbt lets them.
        let mut macro_names = Vec::new();
        let mut combined = String::new();
        for (path, text) in macros {
            // Checked on its own first, so a syntax error names its file and line.
            env.template_from_named_str(path, text)?;
            combined.push_str(text);
            combined.push('\n');
            macro_names.extend(macro_definitions(text));
        }
        env.add_template_owned(MACROS_TEMPLATE, combined)?;

        let refs = (state.clone(), relations.clone());
        env.add_function(
            "ref",
            move |first: String, second: Option<String>, _kwargs: Kwargs| -> Result<Value, Error> {
                let name = second.unwrap_or(first);
                let (state, relations) = &refs;
                let relation =
                    lock(relations).models.get(&name).cloned().ok_or_else(|| {
                        invalid(format!("ref('{name}'): no model is named {name}"))
                    })?;
                lock(state).refs.insert(name);
                Ok(Value::from_safe_string(relation))
            },
        );
        let sources = (state.clone(), relations.clone());
        env.add_function(
            "source",
            move |source: String, table: String| -> Result<Value, Error> {
                let (state, relations) = &sources;
                let key = (source.clone(), table.clone());
                let relation = lock(relations).sources.get(&key).cloned().ok_or_else(|| {
                    invalid(format!(
                        "source('{source}', '{table}'): no such source table in the project's YAML"
                    ))
                })?;
                lock(state).sources.insert(key);
                Ok(Value::from_safe_string(relation))
            },
        );
        let configured = state.clone();
        env.add_function("config", move |kwargs: Kwargs| -> Result<String, Error> {
            let mut state = lock(&configured);
            for key in kwargs.args() {
                let value: Value = kwargs.get(key)?;
                state.config.insert(key.to_owned(), to_json(&value));
            }
            Ok(String::new())
        });
        let incremental = state.clone();
        env.add_function("is_incremental", move || lock(&incremental).incremental);
        let logged = state.clone();
        env.add_function("log", move |message: Value, _info: Option<bool>| {
            lock(&logged).logs.push(sql(&message));
            String::new()
        });
        let vars = Arc::new(vars);
        env.add_function(
            "var",
            move |name: String, default: Option<Value>| -> Result<Value, Error> {
                match (vars.get(&name), default) {
                    (Some(value), _) => Ok(Value::from(Serde(value))),
                    (None, Some(default)) => Ok(default),
                    (None, None) => Err(invalid(format!(
                        "Required var '{name}' not found in config: set it in dbt_project.yml or pass --vars"
                    ))),
                }
            },
        );
        env.add_function(
            "env_var",
            |name: String, default: Option<String>| -> Result<String, Error> {
                match (std::env::var(&name), default) {
                    (Ok(value), _) => Ok(value),
                    (Err(_), Some(default)) => Ok(default),
                    (Err(_), None) => Err(invalid(format!(
                        "Env var required but not provided: '{name}'"
                    ))),
                }
            },
        );
        env.add_function("return", |value: Value| value);
        env.add_function("run_started_at", || "now()".to_owned());
        env.add_global(
            "this",
            Value::from_object(ThisRelation {
                state: state.clone(),
            }),
        );
        env.add_global("dbt", dbt_namespace());
        // Models render with their real SQL (dbt's execution phase), so `execute` holds.
        env.add_global("execute", true);
        env.add_global("invocation_id", uuid::Uuid::new_v4().to_string());
        env.add_global("project_name", project_name.to_owned());
        env.add_global(
            "target",
            Value::from(Serde(serde_json::json!({
                "name": target_name,
                "type": "datafusion",
                "schema": GOLD_SCHEMA,
                "database": "medallion",
                "threads": 1,
                "profile_name": "medallion",
            }))),
        );
        env.add_global(
            "exceptions",
            Value::from(BTreeMap::from([(
                "raise_compiler_error",
                Value::from_function(|message: String| -> Result<String, Error> {
                    Err(invalid(message))
                }),
            )])),
        );
        Ok(Self {
            env,
            state,
            relations,
            macro_names,
        })
    }

    /// Sets how `ref` and `source` name relations.
    pub(crate) fn set_relations(&self, relations: Relations) {
        *lock(&self.relations) = relations;
    }

    /// Renders `text` (the file `path`) for node `node` whose relation is `this`.
    /// Returns the SQL and what the render recorded.
    pub(crate) fn render(
        &self,
        path: &str,
        text: &str,
        node: &str,
        this: &str,
        incremental: bool,
    ) -> Result<(String, RenderState), Error> {
        {
            let mut state = lock(&self.state);
            *state = RenderState {
                node: node.to_owned(),
                this: this.to_owned(),
                incremental,
                ..Default::default()
            };
        }
        // The import stays on the first line, so that line numbers in errors match
        // the file.
        let source = if self.macro_names.is_empty() {
            text.to_owned()
        } else {
            format!(
                "{{% from '{MACROS_TEMPLATE}' import {} %}}{text}",
                self.macro_names.join(", ")
            )
        };
        let rendered = self.env.render_named_str(path, &source, ())?;
        let state = std::mem::take(&mut *lock(&self.state));
        Ok((rendered, state))
    }
}

/// The names of the macros a file defines (`{% macro name(…) %}`).
fn macro_definitions(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{%") {
        rest = &rest[start + 2..];
        let statement = rest.trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = statement.strip_prefix("macro") {
            if after.starts_with(char::is_whitespace) {
                let name: String = after
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer(macros: &[(&str, &str)]) -> Renderer {
        let macros: Vec<(String, String)> = macros
            .iter()
            .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
            .collect();
        let vars = BTreeMap::from([("start".to_owned(), serde_json::json!("2026-01-01"))]);
        let renderer = Renderer::new(&macros, "demo", vars, "dev").unwrap();
        renderer.set_relations(Relations {
            models: BTreeMap::from([
                ("stg".to_owned(), "gold.stg".to_owned()),
                ("eph".to_owned(), "__dbt__cte__eph".to_owned()),
            ]),
            sources: BTreeMap::from([(
                ("silver".to_owned(), "trips".to_owned()),
                "silver.trips".to_owned(),
            )]),
        });
        renderer
    }

    #[test]
    fn the_dbt_context_renders_and_records_what_a_model_uses() {
        let renderer = renderer(&[(
            "macros/cents.sql",
            "{% macro cents(col) %}({{ col }} * 100){% endmacro %}",
        )]);
        let model = "{{ config(materialized='incremental', unique_key=['a', 'b']) }}\
select {{ cents('fare') }} as c, '{{ var('start') }}' as s, '{{ var('missing', 'x') }}' as m\n\
from {{ ref('stg') }} join {{ source('silver', 'trips') }} using (id)\n\
{% if is_incremental() %}where t > (select max(t) from {{ this }}){% endif %}";
        let (sql, state) = renderer
            .render("models/m.sql", model, "m", "gold.m", true)
            .unwrap();
        assert_eq!(
            sql,
            "select (fare * 100) as c, '2026-01-01' as s, 'x' as m\nfrom gold.stg join silver.trips using (id)\nwhere t > (select max(t) from gold.m)"
        );
        assert_eq!(state.refs, BTreeSet::from(["stg".to_owned()]));
        assert_eq!(state.config["unique_key"], serde_json::json!(["a", "b"]));
        assert_eq!(state.config["materialized"], "incremental");
        let (sql, _) = renderer
            .render(
                "models/m.sql",
                "{% if is_incremental() %}x{% endif %}{{ this.name }}",
                "m",
                "gold.m",
                false,
            )
            .unwrap();
        assert_eq!(sql, "m");
        let (sql, _) = renderer
            .render(
                "models/m.sql",
                "{% if execute %}{{ project_name }}{% endif %}",
                "m",
                "gold.m",
                false,
            )
            .unwrap();
        assert_eq!(sql, "demo");
    }

    #[test]
    fn cross_database_macros_render_datafusion_sql() {
        let renderer = renderer(&[]);
        let render = |text: &str| {
            renderer
                .render("models/x.sql", text, "x", "gold.x", false)
                .unwrap()
                .0
        };
        assert_eq!(
            render("{{ dbt.date_trunc('day', 'paid_at') }}"),
            "date_trunc('day', paid_at)"
        );
        assert_eq!(
            render("{{ dbt.safe_cast('x', dbt.type_string()) }}"),
            "TRY_CAST(x AS VARCHAR)"
        );
        assert_eq!(
            render("{{ dbt.hash(dbt.concat(['a', \"'-'\", 'b'])) }}"),
            "md5(CAST(concat(a, '-', b) AS VARCHAR))"
        );
        assert_eq!(
            render("{{ dbt.dateadd('day', 1, 'd') }}"),
            "(d + INTERVAL '1 day')"
        );
        assert_eq!(
            render("{{ dbt.dateadd('day', 'n', 'd') }}"),
            "to_timestamp_seconds(to_unixtime(d) + (n) * 86400)"
        );
        assert_eq!(render("{{ dbt.current_timestamp() }}"), "now()");
        assert!(render("{{ dbt.datediff('a', 'b', 'month') }}").contains("* 12"));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let renderer = renderer(&[]);
        let err = renderer
            .render(
                "models/bad.sql",
                "select 1\nfrom {{ ref('nope') }}",
                "bad",
                "gold.bad",
                false,
            )
            .unwrap_err();
        assert_eq!(err.name(), Some("models/bad.sql"));
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().contains("no model is named nope"), "{err}");
        let err = renderer
            .render(
                "models/bad.sql",
                "select {{ var('nope') }}",
                "bad",
                "gold.bad",
                false,
            )
            .unwrap_err();
        assert!(err.to_string().contains("Required var 'nope'"), "{err}");
        let err = Renderer::new(
            &[(
                "macros/broken.sql".to_owned(),
                "\n{% macro x( %}".to_owned(),
            )],
            "demo",
            BTreeMap::new(),
            "dev",
        )
        .unwrap_err();
        assert_eq!(
            (err.name(), err.line()),
            (Some("macros/broken.sql"), Some(2))
        );
    }
}
