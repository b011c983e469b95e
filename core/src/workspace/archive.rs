//! Zip archives of a project: written deterministically, read with every entry's size
//! and expansion bounded before it is in memory.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use super::import::{Limits, LIMITS};
use super::WorkspaceError;

/// What the messages call the archive itself.
const ARCHIVE: &str = "the archive";

/// The files (path, text) as a deflated zip, every entry dated 1980-01-01 so the same
/// project gives the same bytes.
pub(super) fn write_zip(files: &[(String, String)]) -> Result<Vec<u8>, WorkspaceError> {
    let zip_error = |name: &str, err: &dyn std::fmt::Display| WorkspaceError::Zip {
        name: name.to_owned(),
        message: err.to_string(),
    };
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(0o644);
    for (path, text) in files {
        writer
            .start_file(path.as_str(), options)
            .map_err(|err| zip_error(path, &err))?;
        writer
            .write_all(text.as_bytes())
            .map_err(|err| zip_error(path, &err))?;
    }
    let cursor = writer.finish().map_err(|err| zip_error(ARCHIVE, &err))?;
    Ok(cursor.into_inner())
}

/// Every file of a zip archive (path as stored, bytes), refusing before it is read an
/// archive with too many entries, an entry larger than a project file may be or whose
/// bytes pass the total, an entry that expands like a zip bomb, a link, or an encrypted
/// entry. Sizes are counted as the bytes come out, never taken from the headers.
pub(super) fn read_zip(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, WorkspaceError> {
    read_zip_within(bytes, &LIMITS)
}

/// [`read_zip`] under `limits`.
fn read_zip_within(
    bytes: &[u8],
    limits: &Limits,
) -> Result<Vec<(String, Vec<u8>)>, WorkspaceError> {
    let zip_error = |name: &str, err: &dyn std::fmt::Display| WorkspaceError::Zip {
        name: name.to_owned(),
        message: err.to_string(),
    };
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|err| zip_error(ARCHIVE, &err))?;
    if archive.len() > limits.files {
        return Err(WorkspaceError::TooLarge {
            path: ARCHIVE.to_owned(),
            detail: format!(
                "{} entries, more than the {} a project may have",
                archive.len(),
                limits.files
            ),
        });
    }
    let mut files = Vec::new();
    let mut total = 0u64;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|err| zip_error(&format!("entry {}", index + 1), &err))?;
        let name = entry.name().map_or_else(
            |_| String::from_utf8_lossy(entry.name_raw()).into_owned(),
            |name| name.into_owned(),
        );
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            return Err(WorkspaceError::InvalidPath {
                path: name,
                reason: "a symbolic link: a project holds files only".to_owned(),
            });
        }
        if entry.encrypted() {
            return Err(zip_error(&name, &"the entry is encrypted"));
        }
        let compressed = entry.compressed_size();
        // Never more than one byte past the limit comes out, whatever the header says.
        let mut data = Vec::new();
        (&mut entry)
            .take(limits.file_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|err| zip_error(&name, &err))?;
        let size = data.len() as u64;
        limits.check_file(&name, size, total)?;
        limits.check_ratio(&name, size, compressed)?;
        total += size;
        files.push((name, data));
    }
    Ok(files)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, method) in entries {
            let options = SimpleFileOptions::default().compression_method(*method);
            writer.start_file(*name, options).expect("start");
            writer.write_all(data).expect("write");
        }
        writer.finish().expect("finish").into_inner()
    }

    #[test]
    fn entries_come_back_as_written_and_limits_name_the_entry() {
        let files = vec![
            ("dbt_project.yml".to_owned(), "name: x\n".to_owned()),
            ("models/a.sql".to_owned(), "select 1".to_owned()),
        ];
        let bytes = write_zip(&files).expect("zip");
        assert_eq!(write_zip(&files).expect("again"), bytes, "deterministic");
        let read = read_zip(&bytes).expect("read");
        let read: Vec<(String, String)> = read
            .into_iter()
            .map(|(path, data)| (path, String::from_utf8(data).expect("text")))
            .collect();
        assert_eq!(read, files);

        let small = Limits {
            files: 2,
            file_bytes: 10,
            total_bytes: 15,
            ratio: 100,
            ratio_floor: 1 << 20,
        };
        let stored = CompressionMethod::Stored;
        let three = zip_of(&[
            ("a.sql", b"1", stored),
            ("b.sql", b"2", stored),
            ("c.sql", b"3", stored),
        ]);
        let err = read_zip_within(&three, &small).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the archive: 3 entries, more than the 2"),
            "{err}"
        );
        let big = zip_of(&[("models/big.sql", &[b'x'; 11], stored)]);
        let err = read_zip_within(&big, &small).unwrap_err();
        assert!(err.to_string().starts_with("models/big.sql: "), "{err}");
        let total = zip_of(&[
            ("models/a.sql", &[b'x'; 8], stored),
            ("models/b.sql", &[b'x'; 8], stored),
        ]);
        let err = read_zip_within(&total, &small).unwrap_err();
        assert!(
            matches!(&err, WorkspaceError::TooLarge { path, .. } if path == "models/b.sql"),
            "{err}"
        );
        let err = read_zip(b"not a zip").unwrap_err();
        assert!(matches!(err, WorkspaceError::Zip { .. }), "{err}");
    }
}
