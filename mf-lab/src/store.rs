//! The durable, append-only result store.
//!
//! # Format
//!
//! A store is a text file of JSON lines. Each line is
//!
//! ```text
//! {"sha256":"<64 hex digits>","record":<json>}
//! ```
//!
//! where the digest is the SHA-256 of the exact bytes of `<json>`. The first line's `<json>` is a header
//! `{"header":{"format":1,"spec_hash":"<spec hash>"}}`; every other line is `{"job":<Record>}`. When a key
//! appears more than once, the last line wins (a failed job rerun with `retry_failed`).
//!
//! # Durability
//!
//! Each record is written with a single `write` call and then `fsync`ed before the next job's result is
//! accepted, so a crash (even `kill -9` or a power cut) can only damage the record being written: the last line.
//! [`Store::open`] detects a last line that is incomplete (no newline) or fails its checksum, reports it in
//! [`OpenReport::recovered`] and truncates it away. A bad line followed by good ones is not a torn write but
//! damage, and opening fails with [`LabError::CorruptStore`] rather than discard data silently.
//!
//! An open store holds an exclusive advisory lock on its file (released by the kernel when the process dies),
//! so two sweeps cannot append to the same file (where the file system supports locks).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::job::{Job, JobKey};
use crate::spec::{hex, Metric, Params};
use crate::LabError;

/// The store format version written in headers.
pub const FORMAT: u32 = 1;

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The evaluator returned one score per seed.
    Done {
        /// What the scores measure.
        metric: Metric,
        /// One score per seed, in seed order.
        scores: Vec<f64>,
    },
    /// The evaluator returned an error.
    Failed {
        /// The evaluator's message.
        message: String,
    },
}

/// One finished job, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The job's key.
    pub key: JobKey,
    /// The configuration's hyper-parameters.
    pub params: Params,
    /// The seeds the job used, one per draw or trial.
    pub seeds: Vec<u64>,
    /// Scores or failure.
    pub outcome: Outcome,
    /// Wall-clock seconds the job took.
    pub wall_s: f64,
}

impl Record {
    /// The record of `job` ending with `outcome` after `wall_s` seconds.
    pub fn new(job: &Job, outcome: Outcome, wall_s: f64) -> Record {
        Record {
            key: job.key.clone(),
            params: job.params.clone(),
            seeds: job.seeds.clone(),
            outcome,
            wall_s,
        }
    }

    /// Whether the job failed.
    pub fn is_failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum Entry {
    Header { format: u32, spec_hash: String },
    Job(Record),
}

const PREFIX: &[u8] = b"{\"sha256\":\"";
const MIDDLE: &[u8] = b"\",\"record\":";

fn encode(entry: &Entry) -> Vec<u8> {
    let json = serde_json::to_string(entry).expect("records always serialise");
    let digest = hex(&Sha256::digest(json.as_bytes()));
    let mut line = Vec::with_capacity(json.len() + 90);
    line.extend_from_slice(PREFIX);
    line.extend_from_slice(digest.as_bytes());
    line.extend_from_slice(MIDDLE);
    line.extend_from_slice(json.as_bytes());
    line.extend_from_slice(b"}\n");
    line
}

/// Decodes one line without its newline; Err says why it is not a valid record.
fn decode(line: &[u8]) -> Result<Entry, String> {
    let body = line
        .strip_prefix(PREFIX)
        .and_then(|l| l.strip_suffix(b"}"))
        .ok_or("not a checksummed record line")?;
    if body.len() < 64 + MIDDLE.len() || &body[64..64 + MIDDLE.len()] != MIDDLE {
        return Err("malformed checksum field".into());
    }
    let (digest, json) = (&body[..64], &body[64 + MIDDLE.len()..]);
    if hex(&Sha256::digest(json)).as_bytes() != digest {
        return Err("checksum mismatch".into());
    }
    serde_json::from_slice(json)
        .map_err(|e| format!("checksum matches but the record does not parse: {e}"))
}

/// A damaged tail found (and, by [`Store::open`], removed) when a store was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Byte offset where the damaged tail started (the new file length after truncation).
    pub offset: u64,
    /// Bytes removed.
    pub bytes: u64,
    /// Why the last line was rejected.
    pub reason: String,
}

/// What [`Store::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// Job records read (including superseded duplicates).
    pub lines: usize,
    /// Whether the file was created by this open.
    pub created: bool,
    /// The torn or corrupt last record that was truncated away, if any.
    pub recovered: Option<Recovered>,
}

/// The contents of a store file read without modifying it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreContents {
    /// The spec hash of the header.
    pub spec_hash: String,
    /// Records by key (last line wins).
    pub records: BTreeMap<JobKey, Record>,
    /// Job record lines read, including superseded duplicates.
    pub lines: usize,
    /// A damaged tail that was ignored, if any.
    pub damaged_tail: Option<Recovered>,
}

/// Parses a store's bytes. Returns the contents (header may be absent for an empty file) and the length of the
/// valid prefix.
fn parse(path: &Path, bytes: &[u8]) -> Result<(Option<StoreContents>, u64), LabError> {
    let mut offset = 0usize;
    let mut header: Option<String> = None;
    let mut records = BTreeMap::new();
    let mut lines = 0;
    let mut line_no = 0;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (&rest[..n], offset + n + 1),
            None => (rest, bytes.len()),
        };
        let complete = next <= bytes.len() && bytes.get(next - 1) == Some(&b'\n');
        let decoded = if complete {
            decode(line)
        } else {
            Err("incomplete last line".into())
        };
        let entry = match decoded {
            Ok(e) => e,
            Err(reason) => {
                // A torn write can only damage the last line; anything valid after a bad line is damage.
                if next < bytes.len() {
                    return Err(LabError::CorruptStore {
                        path: path.to_path_buf(),
                        line: line_no,
                        msg: reason,
                    });
                }
                let contents = header.map(|spec_hash| StoreContents {
                    spec_hash,
                    records,
                    lines,
                    damaged_tail: Some(Recovered {
                        offset: offset as u64,
                        bytes: (bytes.len() - offset) as u64,
                        reason: reason.clone(),
                    }),
                });
                return Ok((contents, offset as u64));
            }
        };
        match (entry, &header) {
            (Entry::Header { format, spec_hash }, None) => {
                if format != FORMAT {
                    return Err(LabError::CorruptStore {
                        path: path.to_path_buf(),
                        line: line_no,
                        msg: format!("unsupported store format {format}"),
                    });
                }
                header = Some(spec_hash);
            }
            (Entry::Job(r), Some(_)) => {
                lines += 1;
                records.insert(r.key.clone(), r);
            }
            (Entry::Header { .. }, Some(_)) | (Entry::Job(_), None) => {
                return Err(LabError::CorruptStore {
                    path: path.to_path_buf(),
                    line: line_no,
                    msg: "the header must be the first line and only there".into(),
                });
            }
        }
        offset = next;
    }
    Ok((
        header.map(|spec_hash| StoreContents {
            spec_hash,
            records,
            lines,
            damaged_tail: None,
        }),
        offset as u64,
    ))
}

/// Reads a store file without modifying it (a damaged tail is reported in
/// [`StoreContents::damaged_tail`] and ignored).
pub fn read_store(path: &Path) -> Result<StoreContents, LabError> {
    let bytes = std::fs::read(path).map_err(|e| LabError::io(path, e))?;
    match parse(path, &bytes)? {
        (Some(c), _) => Ok(c),
        (None, _) => Err(LabError::CorruptStore {
            path: path.to_path_buf(),
            line: 1,
            msg: "no header".into(),
        }),
    }
}

/// An open store: its records in memory and its file open for appending, locked.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    file: File,
    spec_hash: String,
    records: BTreeMap<JobKey, Record>,
}

impl Store {
    /// Opens (creating if absent) the store at `path` for the spec whose hash is `spec_hash`: locks it,
    /// truncates a torn last record, checks the header's spec hash and loads every record.
    pub fn open(path: &Path, spec_hash: &str) -> Result<(Store, OpenReport), LabError> {
        let io = |e| LabError::io(path, e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LabError::Locked {
                    path: path.to_path_buf(),
                })
            }
            // Some network file systems cannot lock at all; the lock only guards against a mistake (two
            // sweeps on one file), so the store works without it there.
            Err(std::fs::TryLockError::Error(_)) => {}
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (contents, valid_len) = parse(path, &bytes)?;
        let mut recovered = contents.as_ref().and_then(|c| c.damaged_tail.clone());
        if contents.is_none() && !bytes.is_empty() {
            // Only a torn header: nothing was ever recorded.
            recovered = Some(Recovered {
                offset: 0,
                bytes: bytes.len() as u64,
                reason: "incomplete header".into(),
            });
        }
        if valid_len < bytes.len() as u64 {
            file.set_len(valid_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let created = contents.is_none();
        let (records, lines) = match contents {
            Some(c) => {
                if c.spec_hash != spec_hash {
                    return Err(LabError::SpecMismatch {
                        path: path.to_path_buf(),
                        expected: spec_hash.to_string(),
                        found: c.spec_hash,
                    });
                }
                (c.records, c.lines)
            }
            None => {
                let header = Entry::Header {
                    format: FORMAT,
                    spec_hash: spec_hash.to_string(),
                };
                file.write_all(&encode(&header)).map_err(io)?;
                file.sync_all().map_err(io)?;
                sync_dir(path);
                (BTreeMap::new(), 0)
            }
        };
        let store = Store {
            path: path.to_path_buf(),
            file,
            spec_hash: spec_hash.to_string(),
            records,
        };
        Ok((
            store,
            OpenReport {
                lines,
                created,
                recovered,
            },
        ))
    }

    /// Appends `record` durably (one write, then fsync) and makes it visible in [`Store::records`].
    ///
    /// Returns the record as a later open will read it back. That is what is kept in memory too, so that
    /// decisions taken on it (model selection) are the same in an uninterrupted run and in a resumed one even
    /// if a float's decimal form did not read back to the very same bits.
    pub fn append(&mut self, record: Record) -> Result<Record, LabError> {
        let line = encode(&Entry::Job(record));
        let Ok(Entry::Job(stored)) = decode(&line[..line.len() - 1]) else {
            unreachable!("an encoded record decodes")
        };
        self.file
            .write_all(&line)
            .map_err(|e| LabError::io(&self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| LabError::io(&self.path, e))?;
        self.records.insert(stored.key.clone(), stored.clone());
        Ok(stored)
    }

    /// Records by key.
    pub fn records(&self) -> &BTreeMap<JobKey, Record> {
        &self.records
    }

    /// The record of `key`, if present.
    pub fn get(&self, key: &JobKey) -> Option<&Record> {
        self.records.get(key)
    }

    /// The spec hash in the header.
    pub fn spec_hash(&self) -> &str {
        &self.spec_hash
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Makes a newly created file's directory entry durable; best effort, as not every platform can open a
/// directory.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Job;
    use crate::spec::{ModelKind, Spec};

    fn rec(config: usize, score: f64) -> Record {
        let spec = Spec::new(vec!["D".into()]);
        let job = Job::validation(&spec, "D", ModelKind::Rnn, config).unwrap();
        Record::new(
            &job,
            Outcome::Done {
                metric: Metric::Accuracy,
                scores: vec![score],
            },
            0.5,
        )
    }

    fn open(path: &Path) -> (Store, OpenReport) {
        Store::open(path, "h").unwrap()
    }

    #[test]
    fn records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, rep) = open(&path);
            assert!(rep.created);
            s.append(rec(0, 0.25)).unwrap();
            s.append(rec(1, 0.5)).unwrap();
        }
        let (s, rep) = open(&path);
        assert_eq!((rep.lines, rep.created, rep.recovered), (2, false, None));
        assert_eq!(
            s.records().values().cloned().collect::<Vec<_>>(),
            vec![rec(0, 0.25), rec(1, 0.5)]
        );
    }

    #[test]
    fn a_torn_last_line_is_reported_and_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, _) = open(&path);
            s.append(rec(0, 0.25)).unwrap();
        }
        let good_len = std::fs::metadata(&path).unwrap().len();
        // Half of a real record line, as a crash in the middle of a write leaves it.
        let line = encode(&Entry::Job(rec(1, 0.75)));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&line[..line.len() / 2]).unwrap();
        drop(f);
        let (mut s, rep) = open(&path);
        let r = rep.recovered.expect("the torn line is reported");
        assert_eq!(r.offset, good_len);
        assert_eq!(r.bytes as usize, line.len() / 2);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
        assert_eq!(s.records().len(), 1);
        // The store keeps working after recovery.
        s.append(rec(1, 0.75)).unwrap();
        drop(s);
        let (s, rep) = open(&path);
        assert_eq!(rep.recovered, None);
        assert_eq!(s.records().len(), 2);
    }

    #[test]
    fn a_complete_line_with_a_wrong_checksum_at_the_end_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, _) = open(&path);
            s.append(rec(0, 0.25)).unwrap();
            s.append(rec(1, 0.5)).unwrap();
        }
        // Flip one digit of the last record's score: the line stays well-formed JSON.
        let text = std::fs::read_to_string(&path).unwrap();
        let damaged = text.replacen("[0.5]", "[0.6]", 1);
        assert_ne!(text, damaged);
        std::fs::write(&path, damaged).unwrap();
        let (s, rep) = open(&path);
        assert_eq!(rep.recovered.unwrap().reason, "checksum mismatch");
        assert_eq!(s.records().len(), 1);
        assert!(s.get(&rec(1, 0.5).key).is_none());
    }

    #[test]
    fn garbage_appended_after_the_last_record_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, _) = open(&path);
            s.append(rec(0, 0.25)).unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"\x00\x00garbage\n").unwrap();
        drop(f);
        let (s, rep) = open(&path);
        assert!(rep.recovered.is_some());
        assert_eq!(s.records().len(), 1);
    }

    #[test]
    fn damage_before_valid_records_is_an_error_not_a_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, _) = open(&path);
            s.append(rec(0, 0.25)).unwrap();
            s.append(rec(1, 0.5)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("[0.25]", "[0.35]", 1)).unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(matches!(
            Store::open(&path, "h"),
            Err(LabError::CorruptStore { line: 2, .. })
        ));
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            len,
            "nothing was discarded"
        );
    }

    #[test]
    fn a_torn_header_gives_a_fresh_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, b"{\"sha256\":\"ab").unwrap();
        let (s, rep) = open(&path);
        assert!(rep.recovered.is_some());
        assert!(rep.created);
        assert!(s.records().is_empty());
        drop(s);
        assert_eq!(read_store(&path).unwrap().spec_hash, "h");
    }

    #[test]
    fn a_store_of_another_spec_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        drop(open(&path));
        assert!(matches!(
            Store::open(&path, "other"),
            Err(LabError::SpecMismatch { .. })
        ));
    }

    #[test]
    fn a_second_writer_is_locked_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let (_s, _) = open(&path);
        assert!(matches!(
            Store::open(&path, "h"),
            Err(LabError::Locked { .. })
        ));
    }

    #[test]
    fn the_last_line_of_a_key_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let failed = Record {
            outcome: Outcome::Failed {
                message: "oom".into(),
            },
            ..rec(0, 0.0)
        };
        {
            let (mut s, _) = open(&path);
            s.append(failed).unwrap();
            s.append(rec(0, 0.9)).unwrap();
        }
        let c = read_store(&path).unwrap();
        assert_eq!(c.lines, 2);
        assert_eq!(
            c.records.values().cloned().collect::<Vec<_>>(),
            vec![rec(0, 0.9)]
        );
    }

    #[test]
    fn lines_are_json_with_a_sha256_of_the_record() {
        let line = encode(&Entry::Job(rec(0, 0.25)));
        let text = std::str::from_utf8(&line).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        let record_json = serde_json::to_string(&v["record"]).unwrap();
        // serde_json's Value sorts keys, so re-derive the digest from the exact bytes after the marker instead.
        let start = text.find(",\"record\":").unwrap() + ",\"record\":".len();
        let exact = &text[start..text.len() - 2];
        assert_eq!(
            v["sha256"].as_str().unwrap(),
            hex(&Sha256::digest(exact.as_bytes()))
        );
        assert!(record_json.contains("\"job\""));
    }

    #[test]
    fn append_returns_exactly_what_a_reopen_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let awkward = [0.1 + 0.2, 1.0 / 3.0, 2.0f64.sqrt(), 1e-300, 123456.789e10];
        let stored: Vec<Record> = {
            let (mut s, _) = open(&path);
            awkward
                .iter()
                .enumerate()
                .map(|(i, &x)| s.append(rec(i % 2, x)).unwrap())
                .collect()
        };
        let (s, _) = open(&path);
        for r in &stored[stored.len() - 2..] {
            assert_eq!(s.get(&r.key), Some(r));
        }
    }
}
