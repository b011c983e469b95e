//! [`Storage`] in the browser's Origin Private File System.
//!
//! Each store lives in one top-level OPFS directory; an object `a/b/c.json` is the file
//! `c.json` in the directories `a/b` below it. Writes never expose a half-written
//! object:
//! - a new object is written to a temporary file (`.tmp-…`, invisible to `list`) and
//!   then moved to its name;
//! - replacing an object goes through `createWritable()`, whose data becomes visible
//!   all at once when the stream closes.
//!
//! `put_if_absent` checks and moves while holding the Web Lock of that path, so of
//! two tabs (or two tasks of one tab) racing for a Delta version only one wins.
//!
//! Every step into a directory is a round trip, so a store keeps the handles of the
//! directories it has opened. It never removes a directory (deleting an object leaves
//! its folder), so they stay valid while the store is open.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use js_sys::{Array, AsyncIterator, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemHandleKind, FileSystemWritableFileStream,
};

use super::{describe, dom_exception_name, storage_manager, web_lock};
use crate::storage::{
    check_range, validate_path, validate_prefix, ObjectMeta, Storage, StorageError, StorageResult,
    TEMP_PREFIX,
};

/// Whether this browser offers OPFS (`navigator.storage.getDirectory()` works).
pub async fn opfs_available() -> bool {
    match storage_manager() {
        Ok(manager) => JsFuture::from(manager.get_directory()).await.is_ok(),
        Err(_) => false,
    }
}

/// A [`Storage`] rooted at one OPFS directory.
#[derive(Debug, Clone)]
pub struct OpfsStorage {
    name: String,
    root: FileSystemDirectoryHandle,
    /// Directories opened so far, by their folder path (`gold/fact_trips`).
    directories: Arc<Mutex<HashMap<String, FileSystemDirectoryHandle>>>,
}

/// Maps a rejected OPFS promise to the storage error a user can act on.
fn opfs_error(path: &str, operation: &'static str, value: JsValue) -> StorageError {
    let path = path.to_owned();
    let detail = describe(&value);
    match dom_exception_name(&value).as_deref() {
        // A directory where a file was asked for is, for an object store, no object.
        Some("NotFoundError") | Some("TypeMismatchError") => StorageError::NotFound { path },
        Some("QuotaExceededError") => StorageError::QuotaExceeded { path, detail },
        Some("NotAllowedError") | Some("SecurityError") | Some("NoModificationAllowedError") => {
            StorageError::PermissionDenied { path, detail }
        }
        _ => StorageError::Io {
            path,
            operation,
            detail,
        },
    }
}

async fn call<T: JsCast>(
    promise: js_sys::Promise,
    path: &str,
    operation: &'static str,
) -> StorageResult<T> {
    let value = JsFuture::from(promise)
        .await
        .map_err(|err| opfs_error(path, operation, err))?;
    value.dyn_into::<T>().map_err(|value| StorageError::Io {
        path: path.to_owned(),
        operation,
        detail: format!("unexpected value {value:?}"),
    })
}

fn temp_name() -> String {
    let random = (js_sys::Math::random() * 1e16) as u64;
    format!("{TEMP_PREFIX}{random:016x}")
}

impl OpfsStorage {
    /// Opens (creating if needed) the store in the OPFS directory `name`.
    pub async fn open(name: &str) -> StorageResult<Self> {
        validate_path(name)?;
        let manager = storage_manager().map_err(|err| opfs_error(name, "open OPFS", err))?;
        let mut directory: FileSystemDirectoryHandle =
            call(manager.get_directory(), name, "open OPFS").await?;
        for segment in name.split('/') {
            directory = child_directory(&directory, segment, true, name).await?;
        }
        Ok(Self {
            name: name.to_owned(),
            root: directory,
            directories: Arc::default(),
        })
    }

    /// The OPFS directory this store lives in.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory holding `path`'s file, and the file's name.
    async fn parent_of<'p>(
        &self,
        path: &'p str,
        create: bool,
    ) -> StorageResult<(FileSystemDirectoryHandle, &'p str)> {
        validate_path(path)?;
        let (folders, file) = match path.rsplit_once('/') {
            Some((folders, file)) => (Some(folders), file),
            None => (None, path),
        };
        Ok((
            self.directory(folders.unwrap_or(""), create, path).await?,
            file,
        ))
    }

    fn known_directories(&self) -> MutexGuard<'_, HashMap<String, FileSystemDirectoryHandle>> {
        // One thread: the lock is never contended, and a poisoned map is still right.
        self.directories
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The directory at `folder` (`""` is the root), through the handles opened before.
    async fn directory(
        &self,
        folder: &str,
        create: bool,
        path: &str,
    ) -> StorageResult<FileSystemDirectoryHandle> {
        if folder.is_empty() {
            return Ok(self.root.clone());
        }
        if let Some(known) = self.known_directories().get(folder) {
            return Ok(known.clone());
        }
        let mut directory = self.root.clone();
        let mut walked = String::with_capacity(folder.len());
        for segment in folder.split('/') {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(segment);
            let known = self.known_directories().get(&walked).cloned();
            directory = match known {
                Some(known) => known,
                None => {
                    let child = child_directory(&directory, segment, create, path).await?;
                    self.known_directories()
                        .insert(walked.clone(), child.clone());
                    child
                }
            };
        }
        Ok(directory)
    }

    async fn file(&self, path: &str) -> StorageResult<File> {
        let (directory, name) = self.parent_of(path, false).await?;
        let handle: FileSystemFileHandle =
            call(directory.get_file_handle(name), path, "open").await?;
        call(handle.get_file(), path, "open").await
    }

    async fn write_new_file(
        directory: &FileSystemDirectoryHandle,
        name: &str,
        data: &[u8],
        path: &str,
    ) -> StorageResult<FileSystemFileHandle> {
        let options = FileSystemGetFileOptions::new();
        options.set_create(true);
        let handle: FileSystemFileHandle = call(
            directory.get_file_handle_with_options(name, &options),
            path,
            "create",
        )
        .await?;
        write_all(&handle, data, path).await?;
        Ok(handle)
    }

    /// Writes `data` to a temporary file beside `name` and moves it to `name`.
    /// With `if_absent`, fails if `name` exists; the caller holds the path's lock.
    async fn write_via_temp(
        directory: &FileSystemDirectoryHandle,
        name: &str,
        data: &[u8],
        path: &str,
        if_absent: bool,
    ) -> StorageResult<()> {
        let exists = file_exists(directory, name, path).await?;
        if exists && if_absent {
            return Err(StorageError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        if exists {
            // Replacing: createWritable() swaps the new content in when the stream closes.
            let handle: FileSystemFileHandle =
                call(directory.get_file_handle(name), path, "open").await?;
            return write_all(&handle, data, path).await;
        }
        let temp = temp_name();
        let handle = Self::write_new_file(directory, &temp, data, path).await?;
        let moved = move_to(&handle, name, path).await;
        if moved.is_err() {
            let _ = JsFuture::from(directory.remove_entry(&temp)).await;
        }
        moved
    }

    fn lock_name(&self, path: &str) -> String {
        format!("medallion-opfs:{}/{path}", self.name)
    }

    async fn locked_write(&self, path: &str, data: Bytes, if_absent: bool) -> StorageResult<()> {
        let (directory, name) = self.parent_of(path, true).await?;
        web_lock::with_lock(
            &self.lock_name(path),
            Self::write_via_temp(&directory, name, &data, path, if_absent),
        )
        .await
        .map_err(|err| opfs_error(path, "lock", err))?
    }
}

async fn child_directory(
    parent: &FileSystemDirectoryHandle,
    name: &str,
    create: bool,
    path: &str,
) -> StorageResult<FileSystemDirectoryHandle> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    call(
        parent.get_directory_handle_with_options(name, &options),
        path,
        "open a directory",
    )
    .await
}

async fn file_exists(
    directory: &FileSystemDirectoryHandle,
    name: &str,
    path: &str,
) -> StorageResult<bool> {
    match JsFuture::from(directory.get_file_handle(name)).await {
        Ok(_) => Ok(true),
        Err(err) if dom_exception_name(&err).as_deref() == Some("NotFoundError") => Ok(false),
        Err(err) => Err(opfs_error(path, "check", err)),
    }
}

async fn write_all(handle: &FileSystemFileHandle, data: &[u8], path: &str) -> StorageResult<()> {
    let stream: FileSystemWritableFileStream =
        call(handle.create_writable(), path, "open for writing").await?;
    let written = match stream.write_with_u8_array(data) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(err) => Err(err),
    };
    if let Err(err) = written {
        // Abort discards the swap file; the previous content stays.
        let _ = JsFuture::from(stream.abort()).await;
        return Err(opfs_error(path, "write", err));
    }
    JsFuture::from(stream.close())
        .await
        .map(|_| ())
        .map_err(|err| opfs_error(path, "write", err))
}

/// `FileSystemHandle.move(newName)`: a rename within the same directory.
async fn move_to(handle: &FileSystemFileHandle, name: &str, path: &str) -> StorageResult<()> {
    let rename = Reflect::get(handle, &JsValue::from_str("move"))
        .and_then(|method| method.dyn_into::<js_sys::Function>())
        .map_err(|err| opfs_error(path, "move into place", err))?;
    let promise = rename
        .call1(handle, &JsValue::from_str(name))
        .and_then(|value| value.dyn_into::<js_sys::Promise>())
        .map_err(|err| opfs_error(path, "move into place", err))?;
    JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|err| opfs_error(path, "move into place", err))
}

fn meta_of(path: String, file: &File) -> ObjectMeta {
    ObjectMeta {
        path,
        size: file.size() as u64,
        last_modified_ms: file.last_modified() as i64,
    }
}

/// Collects every file below `directory` whose store path starts with `prefix`.
async fn walk(
    directory: FileSystemDirectoryHandle,
    relative: String,
    prefix: &str,
    out: &mut Vec<ObjectMeta>,
) -> StorageResult<()> {
    // Depth-first with an explicit stack: async recursion would need boxing.
    let mut pending = vec![(directory, relative)];
    while let Some((directory, relative)) = pending.pop() {
        let entries: AsyncIterator = directory.entries();
        loop {
            let step = entries
                .next()
                .map_err(|err| opfs_error(prefix, "list", err))?;
            let step = JsFuture::from(step)
                .await
                .map_err(|err| opfs_error(prefix, "list", err))?;
            let done = Reflect::get(&step, &JsValue::from_str("done"))
                .map(|done| done.is_truthy())
                .unwrap_or(true);
            if done {
                break;
            }
            let pair: Array = Reflect::get(&step, &JsValue::from_str("value"))
                .and_then(|value| value.dyn_into::<Array>())
                .map_err(|err| opfs_error(prefix, "list", err))?;
            let name = pair.get(0).as_string().unwrap_or_default();
            if name.starts_with(TEMP_PREFIX) || name.is_empty() {
                continue;
            }
            let path = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let handle: web_sys::FileSystemHandle = pair
                .get(1)
                .dyn_into()
                .map_err(|err| opfs_error(&path, "list", err))?;
            match handle.kind() {
                FileSystemHandleKind::Directory => {
                    let as_folder = format!("{path}/");
                    if as_folder.starts_with(prefix) || prefix.starts_with(&as_folder) {
                        pending.push((handle.unchecked_into(), path));
                    }
                }
                _ if path.starts_with(prefix) => {
                    let file_handle: FileSystemFileHandle = handle.unchecked_into();
                    match call::<File>(file_handle.get_file(), &path, "stat").await {
                        Ok(file) => out.push(meta_of(path, &file)),
                        // Deleted while we listed: not there any more.
                        Err(StorageError::NotFound { .. }) => {}
                        Err(err) => return Err(err),
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[async_trait(?Send)]
impl Storage for OpfsStorage {
    fn backend(&self) -> &'static str {
        "OPFS"
    }

    async fn get(&self, path: &str) -> StorageResult<Bytes> {
        let file = self.file(path).await?;
        let buffer: js_sys::ArrayBuffer = call(file.array_buffer(), path, "read").await?;
        Ok(Bytes::from(Uint8Array::new(&buffer).to_vec()))
    }

    async fn get_range(&self, path: &str, range: Range<u64>) -> StorageResult<Bytes> {
        let file = self.file(path).await?;
        check_range(path, &range, file.size() as u64)?;
        let slice = file
            .slice_with_f64_and_f64(range.start as f64, range.end as f64)
            .map_err(|err| opfs_error(path, "read", err))?;
        let buffer: js_sys::ArrayBuffer = call(slice.array_buffer(), path, "read").await?;
        Ok(Bytes::from(Uint8Array::new(&buffer).to_vec()))
    }

    async fn head(&self, path: &str) -> StorageResult<ObjectMeta> {
        let file = self.file(path).await?;
        Ok(meta_of(path.to_owned(), &file))
    }

    async fn put(&self, path: &str, data: Bytes) -> StorageResult<()> {
        self.locked_write(path, data, false).await
    }

    async fn put_if_absent(&self, path: &str, data: Bytes) -> StorageResult<()> {
        self.locked_write(path, data, true).await
    }

    async fn list(&self, prefix: &str) -> StorageResult<Vec<ObjectMeta>> {
        validate_prefix(prefix)?;
        // Straight down to the deepest folder the prefix names whole, then walk from
        // there: every directory entry read costs a round trip.
        let folder = prefix.rsplit_once('/').map_or("", |(folder, _)| folder);
        let directory = match self.directory(folder, false, prefix).await {
            Ok(directory) => directory,
            Err(StorageError::NotFound { .. }) => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        let mut out = Vec::new();
        walk(directory, folder.to_owned(), prefix, &mut out).await?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn delete(&self, path: &str) -> StorageResult<()> {
        let (directory, name) = match self.parent_of(path, false).await {
            Ok(found) => found,
            Err(StorageError::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        };
        match JsFuture::from(directory.remove_entry(name)).await {
            Ok(_) => Ok(()),
            Err(err) if dom_exception_name(&err).as_deref() == Some("NotFoundError") => Ok(()),
            Err(err) => Err(opfs_error(path, "delete", err)),
        }
    }
}
