//! A generated project of any number of models, for benchmarks and scale tests.

/// The files of a project of `models` table models over one source `raw.facts`
/// (`silver.facts`): model `m{i}` reads `m{i/2}` and `m{i-1}` (the first reads the
/// source), calls a project macro or a cross-database macro, carries a tag, and has
/// `unique` and `not_null` tests on `id`.
pub fn synthetic_project(models: usize) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "dbt_project.yml".to_owned(),
            "name: bench\nmodels:\n  bench:\n    +materialized: table\n".to_owned(),
        ),
        (
            "macros/double.sql".to_owned(),
            "{% macro double(column) %}({{ column }} * 2){% endmacro %}".to_owned(),
        ),
    ];
    let mut yaml = String::from(
        "version: 2\nsources:\n  - name: raw\n    schema: silver\n    tables:\n      - name: facts\nmodels:\n",
    );
    for i in 0..models {
        let sql = if i == 0 {
            "select id, {{ double('value') }} as value from {{ source('raw', 'facts') }}".to_owned()
        } else {
            format!(
                "{{{{ config(tags=['layer_{layer}']) }}}}\nselect a.id, a.value + coalesce(b.value, 0) as value, {{{{ dbt.hash('a.id') }}}} as key\nfrom {{{{ ref('m{half}') }}}} a left join {{{{ ref('m{prev}') }}}} b on a.id = b.id",
                layer = i % 10,
                half = i / 2,
                prev = i - 1
            )
        };
        files.push((format!("models/layer_{}/m{i}.sql", i % 10), sql));
        yaml.push_str(&format!(
            "  - name: m{i}\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n"
        ));
    }
    files.push(("models/schema.yml".to_owned(), yaml));
    files
}
