//! Landing files to Arrow, as-is: CSV and NDJSON values as their exact source text,
//! Parquet with its own types. A CSV file's field separator (`,` `;` tab `|`) is
//! detected from its first lines. A record that cannot be parsed is kept as a row whose
//! raw text is in `corrupt`, never dropped.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::landing::FileFormat;

use super::BronzeError;

/// One decoded file.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The file's own columns, in its order.
    pub batches: Vec<RecordBatch>,
    /// The file's columns (also for an empty file with a header).
    pub schema: Arc<Schema>,
    /// Per row, across `batches` in order: the raw text of a record that could not be
    /// parsed (its data columns are null).
    pub corrupt: Vec<Option<String>>,
    /// A CSV file's field separator.
    pub separator: Option<char>,
}

impl Decoded {
    pub(crate) fn rows(&self) -> usize {
        self.corrupt.len()
    }

    pub(crate) fn malformed(&self) -> usize {
        self.corrupt.iter().filter(|c| c.is_some()).count()
    }
}

fn invalid(file: &str, detail: impl Into<String>) -> BronzeError {
    BronzeError::InvalidFile {
        file: file.to_owned(),
        detail: detail.into(),
    }
}

/// Text formats must be text: NUL bytes or a Parquet header mean the wrong extension.
fn check_text(file: &str, data: &[u8], format: &str) -> Result<(), BronzeError> {
    if data.starts_with(b"PAR1") {
        return Err(invalid(
            file,
            format!("not {format}: the content is a Parquet file"),
        ));
    }
    let head = &data[..data.len().min(8192)];
    if head.contains(&0) {
        return Err(invalid(
            file,
            format!("not {format}: binary content (NUL bytes)"),
        ));
    }
    Ok(())
}

/// Decodes `data` as `format`; `bad_records_fail` turns the first malformed record
/// into an error.
pub(crate) fn decode(
    file: &str,
    format: FileFormat,
    data: Bytes,
    bad_records_fail: bool,
) -> Result<Decoded, BronzeError> {
    let decoded = match format {
        FileFormat::Csv => decode_csv(file, &data)?,
        FileFormat::NdJson => decode_ndjson(file, &data)?,
        FileFormat::Parquet => decode_parquet(file, data)?,
    };
    if bad_records_fail {
        if let Some(row) = decoded.corrupt.iter().position(Option::is_some) {
            return Err(invalid(
                file,
                format!("record {} is malformed (bad records: failfast)", row + 1),
            ));
        }
    }
    Ok(decoded)
}

fn text_batch(
    file: &str,
    names: &[String],
    columns: Vec<Vec<Option<String>>>,
) -> Result<(Arc<Schema>, Vec<RecordBatch>), BronzeError> {
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|name| Field::new(name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let rows = columns.first().map_or(0, Vec::len);
    if rows == 0 {
        return Ok((schema, Vec::new()));
    }
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|values| Arc::new(StringArray::from(values)) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|err| invalid(file, err.to_string()))?;
    Ok((schema, vec![batch]))
}

fn check_names(file: &str, names: &[String]) -> Result<(), BronzeError> {
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(invalid(
                file,
                format!("the header repeats the column {name:?}"),
            ));
        }
        if name.starts_with("_rescued_data") || name == "_corrupt_record" {
            return Err(invalid(
                file,
                format!("the column {name:?} is reserved for Bronze's metadata"),
            ));
        }
    }
    Ok(())
}

/// The field separators a CSV file may use, in the order a tie is decided.
const SEPARATORS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Lines after the header that separator detection reads, at most.
const SAMPLE_LINES: usize = 20;

/// Bytes that separator detection reads, at most (a line cut there is left out).
const SAMPLE_BYTES: usize = 1 << 16;

/// A separator as a sentence names it.
fn separator_name(separator: u8) -> String {
    match separator {
        b'\t' => "tab".to_owned(),
        other => format!("'{}'", other as char),
    }
}

/// How often each of [`SEPARATORS`] occurs outside quotes on the first lines of `data`
/// (the header first, then up to [`SAMPLE_LINES`]); blank lines are left out.
fn separator_counts(data: &[u8]) -> Vec<[usize; 4]> {
    let mut lines = Vec::new();
    let mut counts = [0; 4];
    let mut quoted = false;
    let mut blank = true;
    for (at, &byte) in data.iter().enumerate() {
        if at >= SAMPLE_BYTES || lines.len() > SAMPLE_LINES {
            return lines;
        }
        match byte {
            b'"' => {
                quoted = !quoted;
                blank = false;
            }
            b'\n' if !quoted => {
                if !blank {
                    lines.push(counts);
                }
                counts = [0; 4];
                blank = true;
            }
            b'\r' => {}
            _ if quoted => blank = false,
            _ => {
                if let Some(index) = SEPARATORS.iter().position(|s| *s == byte) {
                    counts[index] += 1;
                }
                blank = false;
            }
        }
    }
    if !blank {
        lines.push(counts);
    }
    lines
}

/// The field separator of a CSV file: of `,` `;` tab and `|`, the one that splits the
/// header into more than one field and at least half of the next lines into as many
/// (the others are malformed records, kept as such); more agreeing lines win, then
/// more fields, then the order above. A file with none of them in its header is one
/// column. A file whose lines agree on none is refused, saying how each splits them.
fn detect_separator(file: &str, data: &[u8]) -> Result<u8, BronzeError> {
    let lines = separator_counts(data);
    let Some((header, rows)) = lines.split_first() else {
        return Ok(b',');
    };
    let mut best: Option<(usize, usize, u8)> = None;
    for (index, &separator) in SEPARATORS.iter().enumerate() {
        let fields = header[index] + 1;
        if fields < 2 {
            continue;
        }
        let agreeing = rows.iter().filter(|row| row[index] + 1 == fields).count();
        if agreeing * 2 < rows.len() {
            continue;
        }
        if best.is_none_or(|(most, widest, _)| (agreeing, fields) > (most, widest)) {
            best = Some((agreeing, fields, separator));
        }
    }
    if let Some((_, _, separator)) = best {
        return Ok(separator);
    }
    let splits: Vec<String> = SEPARATORS
        .iter()
        .enumerate()
        .filter(|(index, _)| header[*index] > 0)
        .map(|(index, &separator)| {
            let fields: Vec<String> = lines
                .iter()
                .map(|line| (line[index] + 1).to_string())
                .collect();
            format!(
                "lines 1–{} split into {} fields on {}",
                lines.len(),
                fields.join(", "),
                separator_name(separator)
            )
        })
        .collect();
    if splits.is_empty() {
        return Ok(b',');
    }
    Err(invalid(
        file,
        format!(
            "cannot tell the field separator: {} (every line of a CSV file has as many \
             fields as its header)",
            splits.join("; ")
        ),
    ))
}

fn decode_csv(file: &str, data: &[u8]) -> Result<Decoded, BronzeError> {
    check_text(file, data, "CSV")?;
    let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let separator = detect_separator(file, data)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => {
            return Ok(Decoded {
                batches: Vec::new(),
                schema: Arc::new(Schema::empty()),
                corrupt: Vec::new(),
                separator: Some(char::from(separator)),
            })
        }
        Some(header) => header.map_err(|err| invalid(file, format!("header: {err}")))?,
    };
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(index, name)| match std::str::from_utf8(name) {
            Ok("") => Ok(format!("_c{index}")),
            Ok(name) => Ok(name.to_owned()),
            Err(_) => Err(invalid(file, "the header is not valid UTF-8")),
        })
        .collect::<Result<_, _>>()?;
    check_names(file, &names)?;
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    let mut corrupt: Vec<Option<String>> = Vec::new();
    let mut pending: Option<(usize, bool)> = None;
    // The raw text of a record runs from its start to the next record's start.
    let finish = |pending: Option<(usize, bool)>, end: usize, corrupt: &mut Vec<_>| {
        if let Some((start, true)) = pending {
            let raw = String::from_utf8_lossy(data.get(start..end).unwrap_or_default());
            corrupt.push(Some(raw.trim_end_matches(['\r', '\n']).to_owned()));
        } else if pending.is_some() {
            corrupt.push(None);
        }
    };
    loop {
        let record = records.next();
        let start = match &record {
            Some(Ok(record)) => record.position().map_or(data.len(), |p| p.byte() as usize),
            Some(Err(err)) => err.position().map_or(data.len(), |p| p.byte() as usize),
            None => data.len(),
        };
        finish(pending.take(), start.min(data.len()), &mut corrupt);
        let Some(record) = record else { break };
        let fields: Option<Vec<Option<String>>> = match record {
            Ok(record) if record.len() == names.len() => record
                .iter()
                .map(|field| match std::str::from_utf8(field) {
                    Ok("") => Some(None),
                    Ok(text) => Some(Some(text.to_owned())),
                    Err(_) => None,
                })
                .collect(),
            // A blank line between records is no record.
            Ok(record) if record.len() == 1 && record[0].is_empty() => continue,
            Ok(_) | Err(_) => None,
        };
        match fields {
            Some(fields) => {
                for (column, value) in columns.iter_mut().zip(fields) {
                    column.push(value);
                }
                pending = Some((start, false));
            }
            None => {
                for column in &mut columns {
                    column.push(None);
                }
                pending = Some((start, true));
            }
        }
    }
    let (schema, batches) = text_batch(file, &names, columns)?;
    Ok(Decoded {
        batches,
        schema,
        corrupt,
        separator: Some(char::from(separator)),
    })
}

/// A JSON object's fields in their order, values as raw JSON text.
struct OrderedFields<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for OrderedFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
            type Value = OrderedFields<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    fields.push((key, value));
                }
                Ok(OrderedFields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor(std::marker::PhantomData))
    }
}

/// The source text of a JSON value: a string's content, any other value's JSON text.
fn json_text(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text).ok(),
        _ if text == "null" => None,
        _ => Some(text.to_owned()),
    }
}

fn decode_ndjson(file: &str, data: &[u8]) -> Result<Decoded, BronzeError> {
    check_text(file, data, "NDJSON")?;
    let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<Vec<Option<String>>> = Vec::new();
    let mut corrupt: Vec<Option<String>> = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = corrupt.len();
        let parsed = std::str::from_utf8(line)
            .ok()
            .and_then(|text| serde_json::from_str::<OrderedFields<'_>>(text).ok())
            .filter(|fields| {
                // An object that repeats a key is ambiguous: kept as corrupt.
                fields
                    .0
                    .iter()
                    .enumerate()
                    .all(|(i, (key, _))| fields.0[..i].iter().all(|(other, _)| other != key))
            });
        match parsed {
            Some(fields) => {
                for (key, value) in fields.0 {
                    let index = match names.iter().position(|name| *name == key) {
                        Some(index) => index,
                        None => {
                            check_names(file, std::slice::from_ref(&key))?;
                            names.push(key);
                            columns.push(vec![None; row]);
                            names.len() - 1
                        }
                    };
                    columns[index].push(json_text(value));
                }
                corrupt.push(None);
            }
            None => corrupt.push(Some(String::from_utf8_lossy(line).into_owned())),
        }
        for column in &mut columns {
            column.resize(row + 1, None);
        }
    }
    let (schema, batches) = text_batch(file, &names, columns)?;
    Ok(Decoded {
        batches,
        schema,
        corrupt,
        separator: None,
    })
}

fn decode_parquet(file: &str, data: Bytes) -> Result<Decoded, BronzeError> {
    if data.len() < 12 || !data.starts_with(b"PAR1") || !data.ends_with(b"PAR1") {
        return Err(invalid(
            file,
            "not a Parquet file, or a truncated one (no PAR1 magic at both ends)",
        ));
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(data)
        .map_err(|err| invalid(file, format!("unreadable Parquet: {err}")))?;
    let schema = reader.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    check_names(file, &names)?;
    let reader = reader
        .build()
        .map_err(|err| invalid(file, format!("unreadable Parquet: {err}")))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid(file, format!("unreadable Parquet: {err}")))?;
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    Ok(Decoded {
        batches,
        schema,
        corrupt: vec![None; rows],
        separator: None,
    })
}
