//! Downloading a data set archive into the data directory.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use crate::parse::Format;
use crate::registry::paper_dataset;
use crate::{parse_bytes, DataError, Dataset};

/// Download progress: bytes received so far and the total when the server announced it.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// Downloads the archive of `name` (from `url_override`, else the registry URL), checks it is a
/// zip holding `<name>_TRAIN.*` (and possibly `<name>_TEST.*`) in `.ts`, `.tsv` or `.arff`
/// anywhere inside, parses both to check them, and writes them atomically (temporary file, then
/// rename) to `<data_dir>/<name>/`. Returns the loaded data set. `progress` is called after every
/// chunk. Plain `http://` URLs work too.
pub fn fetch(
    name: &str,
    url_override: Option<&str>,
    data_dir: &Path,
    progress: Progress<'_>,
) -> Result<Dataset, DataError> {
    // A paper set is written under its archive name whatever the spelling asked for (`ecg5000` -> ECG5000).
    let registered = paper_dataset(name);
    let name = registered.as_ref().map_or(name, |i| i.name);
    let url = match url_override {
        Some(u) => u.to_string(),
        None => registered
            .as_ref()
            .map(|i| i.url.clone())
            .ok_or_else(|| DataError::Download {
                url: String::new(),
                msg: format!("no registry URL for {name}; pass one explicitly"),
            })?,
    };
    let derr = |msg: String| DataError::Download {
        url: url.clone(),
        msg,
    };
    // A stalled server must not hang the caller: connecting is bounded by 30 s and receiving the
    // body by 10 min, generous for the archives here (a few MB to about 100 MB).
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(std::time::Duration::from_secs(30)))
        .timeout_recv_body(Some(std::time::Duration::from_secs(600)))
        .build()
        .into();
    let resp = agent.get(&url).call().map_err(|e| derr(e.to_string()))?;
    let total = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut reader = resp.into_body().into_reader();
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut chunk).map_err(|e| derr(e.to_string()))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        progress(bytes.len() as u64, total);
    }
    let files = extract_archive(name, &bytes).map_err(|e| match e {
        DataError::Download { msg, .. } => derr(msg),
        other => other,
    })?;
    let dir = data_dir.join(name);
    std::fs::create_dir_all(&dir).map_err(|source| DataError::Io {
        path: dir.clone(),
        source,
    })?;
    for (file_name, content) in &files {
        write_atomic(&dir.join(file_name), content)?;
    }
    crate::load_dataset(data_dir, name)
}

fn write_atomic(path: &Path, content: &[u8]) -> Result<(), DataError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| DataError::Io { path: p, source }
    };
    let tmp: PathBuf = path.with_extension(format!(
        "{}.part{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(content).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Finds `<name>_TRAIN.<ext>` and `<name>_TEST.<ext>` anywhere in a zip archive (preferring
/// `.ts`, then `.tsv`, then `.arff`), parses them to check them and returns `(file name, bytes)`
/// for each found, train first. A missing train file, a corrupt zip or a file that does not parse
/// is an error.
pub fn extract_archive(name: &str, zip_bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let derr = |msg: String| DataError::Download {
        url: String::new(),
        msg,
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(zip_bytes))
        .map_err(|e| derr(format!("not a valid zip archive: {e}")))?;
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    let mut out = Vec::new();
    for split in ["TRAIN", "TEST"] {
        let pick = Format::ALL.iter().find_map(|f| {
            let want = format!("{name}_{split}.{}", f.ext());
            names
                .iter()
                .find(|n| n.rsplit('/').next() == Some(want.as_str()))
                .map(|n| (n.clone(), want, *f))
        });
        let Some((entry, file_name, format)) = pick else {
            if split == "TRAIN" {
                return Err(derr(format!(
                    "archive holds no {name}_TRAIN.ts, .tsv or .arff ({} entries)",
                    names.len()
                )));
            }
            continue;
        };
        let mut content = Vec::new();
        zip.by_name(&entry)
            .and_then(|mut f| f.read_to_end(&mut content).map_err(Into::into))
            .map_err(|e| derr(format!("cannot read {entry}: {e}")))?;
        parse_bytes(format, &content).map_err(|e| match e {
            DataError::Parse { line, msg, .. } => DataError::Parse {
                path: entry.clone(),
                line,
                msg,
            },
            other => other,
        })?;
        out.push((file_name, content));
    }
    Ok(out)
}
