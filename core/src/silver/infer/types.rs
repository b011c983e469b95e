//! Classifying a column's sample values into a [`ColumnType`]: every candidate type
//! is tried on every value; the most specific type that fits every value wins, or
//! else the one that fits the most, if it fits at least [`MIN_FIT`] of them (the rest
//! are misfits, which will quarantine); otherwise the column is text.

use chrono::{DateTime, NaiveDate};

use super::ColumnType;
use crate::silver::transforms::{parse_instant, Zone};

/// The share of values a type must fit when it does not fit them all.
const MIN_FIT: f64 = 0.95;

/// How many examples and misfits the evidence quotes.
const QUOTED: usize = 5;

/// Objects with more fields than this stay JSON text instead of being flattened.
const MAX_FLATTENED: usize = 32;

/// Values that stand for a missing value, compared trimmed and ignoring case.
pub(super) const NULL_MARKERS: [&str; 5] = ["NULL", "N/A", "#N/A", "None", "NaN"];

/// A column's type, with the values that decided it and the ones that do not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Classified {
    pub(super) column_type: ColumnType,
    pub(super) examples: Vec<String>,
    pub(super) misfits: Vec<String>,
    pub(super) misfit_count: u64,
    pub(super) reason: String,
}

/// Whether `name` reads like a yes/no flag: `is_*`, `has_*`, `*_flag`, `active`.
pub(super) fn flag_like(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("is_")
        || name.starts_with("has_")
        || name.ends_with("flag")
        || matches!(name.as_str(), "active" | "enabled" | "deleted" | "valid")
}

/// Whether `name` reads like an instant: `*_at`, `*_time`, `*datetime*`, `*_ts`,
/// `timestamp`.
pub(super) fn time_like(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with("_at")
        || name.ends_with("_time")
        || name.ends_with("_ts")
        || name.contains("datetime")
        || name.contains("timestamp")
}

/// One candidate type and the test of a value against it.
struct Candidate {
    column_type: ColumnType,
    fits: Box<dyn Fn(&str) -> bool>,
}

impl Candidate {
    fn new(column_type: ColumnType, fits: impl Fn(&str) -> bool + 'static) -> Self {
        Self {
            column_type,
            fits: Box::new(fits),
        }
    }
}

fn is_boolean_word(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "t" | "f" | "yes" | "no" | "y" | "n"
    )
}

/// A whole number: a sign and digits, without leading zeros (`007` is a code).
fn is_integer(value: &str) -> bool {
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'))
}

fn has_leading_zero(value: &str) -> bool {
    value.len() > 1 && value.starts_with('0') && value.bytes().all(|b| b.is_ascii_digit())
}

/// The digits of a decimal number as money-like text writes it: (whole digits,
/// fraction digits, whether it carries a currency sign), with `,` (or, with
/// `decimal_comma`, `.`) grouping thousands in threes.
pub(super) fn decimal_shape(value: &str, decimal_comma: bool) -> Option<(usize, usize, bool)> {
    let mut text = value.trim();
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        text = inner.trim();
    }
    let currency = text.contains(['$', '€', '£', '¥']);
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, '$' | '€' | '£' | '¥' | ' ' | '\u{a0}'))
        .collect();
    let text = text.strip_prefix(['-', '+']).unwrap_or(text.as_str());
    let (grouping, decimal) = if decimal_comma {
        ('.', ',')
    } else {
        (',', '.')
    };
    let (whole, fraction) = match text.split_once(decimal) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if let Some(fraction) = fraction {
        if !digits(fraction) {
            return None;
        }
    }
    let groups: Vec<&str> = whole.split(grouping).collect();
    let whole_ok = match groups.as_slice() {
        [] => false,
        [only] => (only.is_empty() && fraction.is_some()) || digits(only),
        [first, rest @ ..] => {
            digits(first) && first.len() <= 3 && rest.iter().all(|g| g.len() == 3 && digits(g))
        }
    };
    if !whole_ok {
        return None;
    }
    let whole_digits = groups.concat().trim_start_matches('0').len();
    Some((whole_digits, fraction.map_or(0, str::len), currency))
}

/// The decimal type of `values` read with `decimal_comma`: precision from the widest
/// value with two digits of headroom (at least 10), scale from the longest fraction
/// (at least 2 with a currency sign).
fn decimal_type(values: &[&str], decimal_comma: bool) -> Option<ColumnType> {
    let shapes: Vec<_> = values
        .iter()
        .filter_map(|value| decimal_shape(value, decimal_comma))
        .collect();
    let whole = shapes.iter().map(|s| s.0).max()?;
    let currency = shapes.iter().any(|s| s.2);
    let scale = shapes
        .iter()
        .map(|s| s.1)
        .max()?
        .max(if currency { 2 } else { 0 });
    if whole + scale > 36 {
        return None;
    }
    Some(ColumnType::Decimal {
        precision: (whole + scale + 2).max(10) as u8,
        scale: scale as i8,
        decimal_comma,
    })
}

/// A slash date's or timestamp's first two parts, if above 12: (first, second).
fn above_twelve(value: &str) -> (bool, bool) {
    let mut parts = value.split(['/', ' ']);
    let number = |part: Option<&str>| part.and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
    (number(parts.next()) > 12, number(parts.next()) > 12)
}

fn fits_date(value: &str, format: &str) -> bool {
    NaiveDate::parse_from_str(value, format).is_ok()
}

/// Whether `value` carries its own offset (`Z`, `+01:00`) as ISO-8601.
fn has_offset(value: &str) -> bool {
    let normalized = match value.as_bytes().get(10) {
        Some(b' ') => format!("{}T{}", &value[..10], &value[11..]),
        _ => value.to_owned(),
    };
    DateTime::parse_from_rfc3339(&normalized).is_ok()
}

fn fits_timestamp(value: &str, format: &str) -> bool {
    parse_instant(value, format, Zone::default()).is_some()
}

/// An ISO-8601 instant with a time of day (a date alone is a date).
fn fits_iso_timestamp(value: &str) -> bool {
    value.len() > 10 && fits_timestamp(value, "iso8601")
}

/// The epoch format whose range (2000 to 2100) every number falls in, if one.
fn epoch_format(values: &[&str]) -> Option<&'static str> {
    let numbers: Vec<i64> = values
        .iter()
        .map(|v| v.parse::<i64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let within = |low: i64, high: i64| numbers.iter().all(|n| (low..high).contains(n));
    if within(946_684_800, 4_102_444_800) {
        Some("epoch_seconds")
    } else if within(946_684_800_000, 4_102_444_800_000) {
        Some("epoch_millis")
    } else {
        None
    }
}

fn json_object_keys(value: &str) -> Option<Vec<String>> {
    if !value.starts_with('{') {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(value).ok()? {
        serde_json::Value::Object(object) => Some(object.keys().cloned().collect()),
        _ => None,
    }
}

fn is_json(value: &str) -> bool {
    value.starts_with(['{', '['])
        && matches!(
            serde_json::from_str::<serde_json::Value>(value),
            Ok(serde_json::Value::Object(_) | serde_json::Value::Array(_))
        )
}

fn utc(format: &str) -> ColumnType {
    ColumnType::Timestamp {
        format: format.to_owned(),
        timezone: "UTC".to_owned(),
    }
}

fn date(format: &str) -> ColumnType {
    ColumnType::Date {
        format: format.to_owned(),
    }
}

/// The candidate types for `values` of column `name`, most specific first.
fn candidates(name: &str, values: &[&str]) -> Vec<Candidate> {
    let mut out = Vec::new();
    if flag_like(name) {
        out.push(Candidate::new(ColumnType::Boolean, |v| {
            is_boolean_word(v) || v == "0" || v == "1"
        }));
    } else {
        out.push(Candidate::new(ColumnType::Boolean, is_boolean_word));
    }
    if time_like(name) {
        if let Some(format) = epoch_format(values) {
            out.push(Candidate::new(utc(format), is_integer));
        }
    }
    out.push(Candidate::new(ColumnType::Integer, is_integer));
    let decimal_values = |comma: bool| {
        values
            .iter()
            .filter(|v| decimal_shape(v, comma).is_some())
            .count()
    };
    // Decimal commas when more values read that way than with a point.
    let comma = decimal_values(true) > decimal_values(false);
    if let Some(decimal) = decimal_type(values, comma) {
        out.push(Candidate::new(decimal, move |v| {
            decimal_shape(v, comma).is_some()
        }));
    }
    for format in ["%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y"] {
        out.push(Candidate::new(date(format), move |v| fits_date(v, format)));
    }
    out.push(Candidate::new(utc("iso8601"), fits_iso_timestamp));
    for format in [
        "%m/%d/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%d/%m/%Y %H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
    ] {
        out.push(Candidate::new(utc(format), move |v| {
            fits_timestamp(v, format)
        }));
    }
    let objects: Option<Vec<Vec<String>>> = values.iter().map(|v| json_object_keys(v)).collect();
    if let Some(objects) = objects {
        let mut fields: Vec<String> = Vec::new();
        for key in objects.into_iter().flatten() {
            if !fields.contains(&key) {
                fields.push(key);
            }
        }
        if fields.len() <= MAX_FLATTENED {
            out.push(Candidate::new(ColumnType::Flatten { fields }, |v| {
                json_object_keys(v).is_some()
            }));
        }
    }
    out.push(Candidate::new(ColumnType::Json, is_json));
    out
}

/// Up to [`QUOTED`] distinct values of `values` for which `keep` holds, and how many
/// values it holds for.
fn quoted(values: &[&str], keep: impl Fn(&str) -> bool) -> (Vec<String>, u64) {
    let mut distinct: Vec<String> = Vec::new();
    let mut count = 0;
    for value in values.iter().filter(|v| keep(v)) {
        count += 1;
        if distinct.len() < QUOTED && !distinct.iter().any(|d| d == value) {
            distinct.push((*value).to_owned());
        }
    }
    (distinct, count)
}

/// Whether two slash formats read the same values: the reason says which decided.
fn slash_reason(format: &str, values: &[&str]) -> Option<String> {
    let day_first = format.starts_with("%d/");
    let month_first = format.starts_with("%m/");
    if !day_first && !month_first {
        return None;
    }
    let (mut first, mut second) = (None, None);
    for value in values {
        let (a, b) = above_twelve(value);
        if a && first.is_none() {
            first = Some(*value);
        }
        if b && second.is_none() {
            second = Some(*value);
        }
    }
    Some(match (day_first, first, second) {
        (true, Some(value), _) => {
            format!("{value} has a day above 12 in its first part: read as {format}")
        }
        (false, _, Some(value)) => {
            format!("{value} has a day above 12 in its second part: read as {format}")
        }
        _ => {
            let example = values.first().copied().unwrap_or_default();
            let (a, b) = example.split_once('/').unwrap_or((example, ""));
            let b = b.split('/').next().unwrap_or_default();
            format!(
                "{example} could be day {b} of month {a} or day {a} of month {b}; no value \
                 above 12 decides: read as {format}"
            )
        }
    })
}

/// Why `column_type` fits the `values` that fit it (of `all`), in one sentence.
fn reason(column_type: &ColumnType, name: &str, values: &[&str], all: usize) -> String {
    let misfits = (all - values.len()) as u64;
    let share = if misfits == 0 {
        "every value".to_owned()
    } else {
        format!("{} of {all} values", all as u64 - misfits)
    };
    let fit = match column_type {
        ColumnType::Boolean if values.iter().all(|v| *v == "0" || *v == "1") => {
            format!("{name} is named like a flag and {share} is 0 or 1")
        }
        ColumnType::Boolean => format!("{share} is true/false, t/f, yes/no or y/n"),
        ColumnType::Integer => format!("{share} is a whole number"),
        ColumnType::Decimal {
            scale,
            decimal_comma,
            ..
        } => format!(
            "{share} is a decimal number with up to {scale} digits after the {}",
            if *decimal_comma {
                "decimal comma"
            } else {
                "point"
            }
        ),
        ColumnType::Date { format } => match slash_reason(format, values) {
            Some(reason) => format!("{share} is a date; {reason}"),
            None => format!("{share} is a date written {format}"),
        },
        ColumnType::Timestamp { format, .. } if format.starts_with("epoch_") => format!(
            "{name} is named like a time and {share} is a number of {} since 1970 \
             (2000 to 2100): read as UTC",
            if format == "epoch_millis" {
                "milliseconds"
            } else {
                "seconds"
            }
        ),
        ColumnType::Timestamp { format, .. } if format == "iso8601" => {
            let with = values.iter().filter(|v| has_offset(v)).count();
            if with == values.len() {
                format!("{share} is an ISO-8601 timestamp with an offset: converted to UTC")
            } else if with == 0 {
                format!("{share} is an ISO-8601 timestamp without an offset: read as UTC")
            } else {
                format!(
                    "{share} is an ISO-8601 timestamp, {with} with an offset (converted to \
                     UTC) and the others without (read as UTC)"
                )
            }
        }
        ColumnType::Timestamp { format, .. } => match slash_reason(format, values) {
            Some(reason) => format!("{share} is a timestamp without an offset; {reason}, as UTC"),
            None => {
                format!("{share} is a timestamp written {format} without an offset: read as UTC")
            }
        },
        ColumnType::Flatten { fields } => format!(
            "{share} is a JSON object: flattened one level into {}",
            fields
                .iter()
                .map(|field| format!("{name}_{field}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ColumnType::Json => format!("{share} is a JSON array or object: kept as JSON text"),
        ColumnType::Text => "the values are text".to_owned(),
    };
    if misfits > 0 {
        format!("{fit}; the other {misfits} do not fit and will quarantine")
    } else {
        fit
    }
}

/// The type of column `name` from its non-null, trimmed sample `values`.
pub(super) fn classify(name: &str, values: &[&str]) -> Classified {
    let text = |reason: String| Classified {
        column_type: ColumnType::Text,
        examples: quoted(values, |_| true).0,
        misfits: Vec::new(),
        misfit_count: 0,
        reason,
    };
    if values.is_empty() {
        return text("every value in the sample is empty".to_owned());
    }
    if values.iter().any(|v| has_leading_zero(v))
        && values.iter().all(|v| is_integer(v) || has_leading_zero(v))
    {
        let (zeros, _) = quoted(values, has_leading_zero);
        return text(format!(
            "the values are digits with leading zeros ({}): kept as text so they stay",
            zeros.join(", ")
        ));
    }
    let scored: Vec<(Candidate, usize)> = candidates(name, values)
        .into_iter()
        .map(|candidate| {
            let fits = values.iter().filter(|v| (candidate.fits)(v)).count();
            (candidate, fits)
        })
        .collect();
    let best = scored
        .iter()
        .find(|(_, fits)| *fits == values.len())
        .or_else(|| {
            scored
                .iter()
                .filter(|(_, fits)| *fits as f64 >= MIN_FIT * values.len() as f64)
                .rev()
                .max_by_key(|(_, fits)| *fits)
        });
    let Some((candidate, _)) = best else {
        let closest = scored
            .iter()
            .filter(|(candidate, _)| candidate.column_type != ColumnType::Json)
            .rev()
            .max_by_key(|(_, fits)| *fits)
            .filter(|(_, fits)| *fits > 0);
        return text(match closest {
            Some((candidate, fits)) => format!(
                "only {fits} of {} values read as {}: kept as text",
                values.len(),
                candidate.column_type.label()
            ),
            None => "the values are text".to_owned(),
        });
    };
    let (examples, _) = quoted(values, |v| (candidate.fits)(v));
    let (misfits, misfit_count) = quoted(values, |v| !(candidate.fits)(v));
    let fitting: Vec<&str> = values
        .iter()
        .copied()
        .filter(|v| (candidate.fits)(v))
        .collect();
    let reason = reason(&candidate.column_type, name, &fitting, values.len());
    Classified {
        column_type: candidate.column_type.clone(),
        examples,
        misfits,
        misfit_count,
        reason,
    }
}
