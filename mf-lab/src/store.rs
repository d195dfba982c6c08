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
//! `{"header":{"format":2,"spec_hash":"<spec hash>"}}`; every other line is `{"job":<Record>}` or
//! `{"session":<Session>}`, which each run appends before the records it computes (program commit and version,
//! cores, workers, start time: the provenance of the records that follow it). Format 1 stores (before sessions)
//! read unchanged. A key appears
//! more than once only after a failure: a failed job rerun with `retry_failed` (or merged over) is recorded
//! again, and the last line wins. A second record of a key whose earlier record is not a failure is an error
//! ([`LabError::DuplicateRecord`]) naming both lines.
//!
//! # Durability
//!
//! Each record is written with a single `write` call and then `fsync`ed before the next job's result is
//! accepted, so a crash (even `kill -9` or a power cut) can only damage the record being written: the last line.
//! [`Store::open`] detects a last line that is incomplete (no newline) or fails its checksum, reports it in
//! [`OpenReport::recovered`] and truncates it away. A bad line followed by good ones is not a torn write but
//! damage, and opening fails with [`LabError::CorruptStore`] rather than discard data silently; [`repair`]
//! (`mf store repair`) then moves every damaged line to a quarantine file beside the store and keeps the rest.
//!
//! An open store holds an exclusive advisory lock on its file (released by the kernel when the process dies),
//! so two sweeps cannot append to the same file (where the file system supports locks).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::job::{Job, JobKey};
use crate::spec::{hex, Metric, Params};
use crate::LabError;

/// The store format version written in headers.
pub const FORMAT: u32 = 2;

/// Store formats this program reads: 1 (without sessions) and [`FORMAT`].
pub const READABLE_FORMATS: [u32; 2] = [1, FORMAT];

/// One run over a store (a sweep, a shard, a dashboard run): who computed the records that follow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// When the run started, in seconds since the Unix epoch.
    pub started: u64,
    /// The source commit the program was built from (`-dirty` when its tree had uncommitted changes), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The version of the library that ran the jobs.
    pub version: String,
    /// Cores available to the process.
    pub cores: usize,
    /// Worker threads of the run (jobs at once).
    pub workers: usize,
    /// The slice of the validation jobs the run computed (`i/n`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

static PROGRAM_COMMIT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names the source commit the running program was built from, for the sessions it records (a program calls this
/// once, at start; later calls are ignored). A library user who does not call it records no commit.
pub fn set_program_commit(commit: &str) {
    let _ = PROGRAM_COMMIT.set(commit.to_string());
}

impl Session {
    /// A session starting now, with this library's version, the process's cores and the commit given to
    /// [`set_program_commit`].
    pub fn now(workers: usize, shard: Option<String>) -> Session {
        Session {
            started: unix_now(),
            commit: PROGRAM_COMMIT.get().cloned(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            cores: mf_core::threads::cores(),
            workers,
            shard,
        }
    }
}

/// A session and what the store holds of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpan {
    /// The session.
    pub session: Session,
    /// Job records written after it and before the next session.
    pub records: usize,
    /// The latest finishing time ([`Record::at`]) among them.
    pub last: Option<u64>,
}

impl SessionSpan {
    /// Seconds from the session's start to its last stored record (0 when it stored none).
    pub fn wall_s(&self) -> u64 {
        self.last
            .map_or(0, |l| l.saturating_sub(self.session.started))
    }
}

fn note(sessions: &mut [SessionSpan], r: &Record) {
    if let Some(span) = sessions.last_mut() {
        span.records += 1;
        span.last = span.last.max(r.at);
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

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
        /// Indices (into `scores`) of the trials whose training diverged (their scores mean nothing). Absent
        /// when none did, so records without divergence, old ones included, read and hash unchanged.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        diverged: Vec<usize>,
    },
    /// The evaluator returned an error.
    Failed {
        /// The evaluator's message.
        message: String,
    },
}

/// One finished job, as stored. Two records are equal when they record the same result of the same job: the
/// time it was stored ([`Record::at`]) is not compared.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The digest of the data the job was computed on ([`crate::Evaluator::data_fingerprint`]), when known.
    /// Absent in stores written before fingerprints were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// When the job was stored, in seconds since the Unix epoch. Absent in stores written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        let Record {
            key,
            params,
            seeds,
            outcome,
            wall_s,
            fingerprint,
            at: _,
        } = self;
        *key == other.key
            && *params == other.params
            && *seeds == other.seeds
            && *outcome == other.outcome
            && *wall_s == other.wall_s
            && *fingerprint == other.fingerprint
    }
}

impl Record {
    /// The record of `job` ending with `outcome` after `wall_s` seconds, stored now.
    pub fn new(job: &Job, outcome: Outcome, wall_s: f64) -> Record {
        Record {
            key: job.key.clone(),
            params: job.params.clone(),
            seeds: job.seeds.clone(),
            outcome,
            wall_s,
            fingerprint: None,
            at: Some(unix_now()),
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
    Session(Session),
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
    /// The runs that wrote the store, in order, with the records each stored.
    pub sessions: Vec<SessionSpan>,
    /// Job records stored before any session (format 1 stores, merged shards).
    pub without_session: usize,
}

/// Parses a store's bytes. Returns the contents (header may be absent for an empty file) and the length of the
/// valid prefix.
fn parse(path: &Path, bytes: &[u8]) -> Result<(Option<StoreContents>, u64), LabError> {
    let mut offset = 0usize;
    let mut header: Option<String> = None;
    let mut records: BTreeMap<JobKey, Record> = BTreeMap::new();
    let mut line_of: BTreeMap<JobKey, usize> = BTreeMap::new();
    let mut lines = 0;
    let mut line_no = 0;
    let mut sessions: Vec<SessionSpan> = Vec::new();
    let mut without_session = 0;
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
                        msg: format!("{reason}; later lines follow, so it is not a torn write"),
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
                    sessions,
                    without_session,
                });
                return Ok((contents, offset as u64));
            }
        };
        match (entry, &header) {
            (Entry::Header { format, spec_hash }, None) => {
                if !READABLE_FORMATS.contains(&format) {
                    return Err(LabError::CorruptStore {
                        path: path.to_path_buf(),
                        line: line_no,
                        msg: format!("unsupported store format {format}"),
                    });
                }
                header = Some(spec_hash);
            }
            (Entry::Session(session), Some(_)) => sessions.push(SessionSpan {
                session,
                records: 0,
                last: None,
            }),
            (Entry::Job(r), Some(_)) => {
                lines += 1;
                if records.get(&r.key).is_some_and(|prev| !prev.is_failed()) {
                    return Err(LabError::DuplicateRecord {
                        path: path.to_path_buf(),
                        key: r.key.to_string(),
                        first: line_of[&r.key],
                        second: line_no,
                    });
                }
                line_of.insert(r.key.clone(), line_no);
                if sessions.is_empty() {
                    without_session += 1;
                }
                note(&mut sessions, &r);
                records.insert(r.key.clone(), r);
            }
            (Entry::Header { .. }, Some(_)) | (Entry::Job(_) | Entry::Session(_), None) => {
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
            sessions,
            without_session,
        }),
        offset as u64,
    ))
}

/// Reads a store file without modifying it (a damaged tail is reported in
/// [`StoreContents::damaged_tail`] and ignored). A file without a complete header (empty, or torn while being
/// created; [`Store::open`] starts such a file afresh) is [`LabError::EmptyStore`].
pub fn read_store(path: &Path) -> Result<StoreContents, LabError> {
    let bytes = std::fs::read(path).map_err(|e| LabError::io(path, e))?;
    match parse(path, &bytes)? {
        (Some(c), _) => Ok(c),
        (None, _) => Err(LabError::EmptyStore {
            path: path.to_path_buf(),
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
        lock(&file, path)?;
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

    /// Appends `session` durably: the records appended after it are its own (see [`StoreContents::sessions`]).
    pub fn begin_session(&mut self, session: &Session) -> Result<(), LabError> {
        let line = encode(&Entry::Session(session.clone()));
        self.file
            .write_all(&line)
            .map_err(|e| LabError::io(&self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| LabError::io(&self.path, e))
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

/// Takes the exclusive advisory lock on an open store file.
fn lock(file: &File, path: &Path) -> Result<(), LabError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(LabError::Locked {
            path: path.to_path_buf(),
        }),
        // Some network file systems cannot lock at all; the lock only guards against a mistake (two
        // sweeps on one file), so the store works without it there.
        Err(std::fs::TryLockError::Error(_)) => Ok(()),
    }
}

/// Whether another process holds the lock of the store at `path` (an open [`Store`] holds it until it is
/// dropped, or its process ends), that is whether a run is writing the store now. A missing file, and a file
/// system that cannot lock, read as not locked.
pub fn is_locked(path: &Path) -> Result<bool, LabError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(LabError::io(path, e)),
    };
    // A shared lock is refused only while a writer holds the exclusive one; closing the file releases it.
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(_)) => Ok(false),
    }
}

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The store file.
    pub path: PathBuf,
    /// Where moved lines went ([`quarantine_path`]).
    pub quarantine: PathBuf,
    /// The lines moved there: 1-based line number in the store as it was, and why.
    pub moved: Vec<(usize, String)>,
    /// Job records kept.
    pub kept: usize,
    /// Jobs whose every record was moved (their keys read in the moved lines, and no kept line records them),
    /// which the next sweep runs again. A moved line of a job that keeps another record does not count.
    pub rerun: usize,
    /// Moved lines too damaged to tell which job, if any, they recorded: no job key reads in them, and they are
    /// no session or header line. A job recorded only on such a line runs again too, uncounted in `rerun`.
    pub unreadable: usize,
    /// Whether the header was damaged (or missing) and written anew for the spec.
    pub header_rewritten: bool,
}

/// The quarantine file of a store: its path with `.quarantine` appended (`store.jsonl.quarantine`).
pub fn quarantine_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".quarantine");
    PathBuf::from(s)
}

/// What a damaged line held, as far as it still reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    /// Records of these jobs (one, or more when writes interleaved on one line).
    Jobs(Vec<JobKey>),
    /// A session or header line, or a blank one: no job.
    NoJob,
    /// Nothing that tells whether it recorded a job, or which.
    Unknown,
}

/// The start of a job entry, up to its key: [`Record::key`] is the record's first field.
const JOB_TAG: &[u8] = b"{\"job\":{\"key\":";
/// The starts of the entries that are no job.
const OTHER_TAGS: [&[u8]; 2] = [b"{\"session\":{", b"{\"header\":{"];

/// What a damaged line held. The key of a job entry comes first in it, so it reads even when the rest of the
/// line does not (a wrong checksum, a torn line, a garbled field after the key). Inside JSON strings quotes
/// are escaped, so the tags cannot appear there.
fn held_by_damaged(line: &[u8]) -> Held {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Held::NoJob;
    }
    let starts = |tag: &[u8]| -> Vec<usize> {
        line.windows(tag.len())
            .enumerate()
            .filter(|(_, w)| *w == tag)
            .map(|(i, _)| i + tag.len())
            .collect()
    };
    let jobs = starts(JOB_TAG);
    if !jobs.is_empty() {
        let keys: Option<Vec<JobKey>> = jobs
            .iter()
            .map(|&at| {
                serde_json::Deserializer::from_slice(&line[at..])
                    .into_iter::<JobKey>()
                    .next()?
                    .ok()
            })
            .collect();
        return keys.map_or(Held::Unknown, Held::Jobs);
    }
    if OTHER_TAGS.iter().any(|t| !starts(t).is_empty()) {
        Held::NoJob
    } else {
        Held::Unknown
    }
}

/// Repairs the store at `path` so that it opens again: every damaged line (bad checksum, torn, not a record,
/// a header out of place) and every second record of a job whose earlier record is not a failure is moved to
/// the quarantine file ([`quarantine_path`], appended to), and the store is rewritten with the other lines,
/// byte for byte, through a temporary file and a rename (a crash leaves the old store or the new one). A
/// damaged or missing header is written anew for `spec_hash`; without it such a store cannot be repaired.
/// Nothing is written when nothing needs moving. Holds the store's lock while it works.
pub fn repair(path: &Path, spec_hash: Option<&str>) -> Result<RepairReport, LabError> {
    let io = |e| LabError::io(path, e);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    lock(&file, path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    let mut header: Option<&[u8]> = None;
    let mut kept: Vec<&[u8]> = Vec::new();
    // Session lines are kept but are not records.
    let mut sessions_kept = 0;
    // The line and outcome of each key's latest kept record.
    let mut latest: BTreeMap<JobKey, (usize, bool)> = BTreeMap::new();
    let mut moved: Vec<(usize, String, &[u8])> = Vec::new();
    let mut rest = &bytes[..];
    let mut line_no = 0;
    while !rest.is_empty() {
        line_no += 1;
        let (line, complete, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (&rest[..n], true, &rest[n + 1..]),
            None => (rest, false, &rest[rest.len()..]),
        };
        rest = next;
        let decoded = if complete {
            decode(line)
        } else {
            Err("incomplete last line".into())
        };
        match decoded {
            Err(reason) => moved.push((line_no, reason, line)),
            Ok(Entry::Header {
                format,
                spec_hash: found,
            }) if line_no == 1 => {
                if !READABLE_FORMATS.contains(&format) {
                    return Err(LabError::CannotRepair {
                        path: path.to_path_buf(),
                        reason: format!(
                            "it is in store format {format}; this mf reads formats {READABLE_FORMATS:?}"
                        ),
                    });
                }
                if let Some(expected) = spec_hash.filter(|&h| h != found) {
                    return Err(LabError::SpecMismatch {
                        path: path.to_path_buf(),
                        expected: expected.to_string(),
                        found,
                    });
                }
                header = Some(line);
            }
            Ok(Entry::Header { .. }) => {
                moved.push((line_no, "a header after the first line".into(), line))
            }
            Ok(Entry::Session(_)) => {
                sessions_kept += 1;
                kept.push(line)
            }
            Ok(Entry::Job(r)) => match latest.get(&r.key) {
                Some(&(first, false)) => moved.push((
                    line_no,
                    format!("records {} again, already recorded at line {first}", r.key),
                    line,
                )),
                _ => {
                    let failed = r.is_failed();
                    latest.insert(r.key, (line_no, failed));
                    kept.push(line);
                }
            },
        }
    }
    let quarantine = quarantine_path(path);
    let header_rewritten = header.is_none() && !bytes.is_empty();
    // A job runs again when every record of it was moved: its key reads in a moved line and no kept line
    // records it. A moved line whose key is lost may have recorded a job or not (a damaged session line, say,
    // recorded none): it is counted apart, except a damaged first line, which was the header.
    let mut lost: BTreeSet<JobKey> = BTreeSet::new();
    let mut unreadable = 0;
    for (n, _, line) in &moved {
        match held_by_damaged(line) {
            Held::Jobs(keys) => lost.extend(keys.into_iter().filter(|k| !latest.contains_key(k))),
            Held::NoJob => {}
            Held::Unknown if *n == 1 && header_rewritten => {}
            Held::Unknown => unreadable += 1,
        }
    }
    let report = RepairReport {
        path: path.to_path_buf(),
        quarantine: quarantine.clone(),
        moved: moved.iter().map(|(n, r, _)| (*n, r.clone())).collect(),
        kept: kept.len() - sessions_kept,
        rerun: lost.len(),
        unreadable,
        header_rewritten,
    };
    if moved.is_empty() && !header_rewritten {
        return Ok(report);
    }
    let new_header = match (header, spec_hash) {
        (Some(line), _) => line.to_vec(),
        (None, Some(h)) => {
            let mut l = encode(&Entry::Header {
                format: FORMAT,
                spec_hash: h.to_string(),
            });
            l.pop();
            l
        }
        (None, None) => {
            return Err(LabError::CannotRepair {
                path: path.to_path_buf(),
                reason: "its header (line 1) is damaged and its spec is unknown: name the spec instead \
                         (`mf store repair <spec.toml>`), or keep the spec.toml of its result directory \
                         beside it"
                    .into(),
            })
        }
    };
    let mut q = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&quarantine)
        .map_err(|e| LabError::io(&quarantine, e))?;
    let mut out = Vec::new();
    for (_, _, line) in &moved {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    q.write_all(&out)
        .and_then(|()| q.sync_all())
        .map_err(|e| LabError::io(&quarantine, e))?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".repair.tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut text = new_header;
    text.push(b'\n');
    for line in &kept {
        text.extend_from_slice(line);
        text.push(b'\n');
    }
    let mut t = File::create(&tmp).map_err(|e| LabError::io(&tmp, e))?;
    t.write_all(&text)
        .and_then(|()| t.sync_all())
        .map_err(|e| LabError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(io)?;
    sync_dir(path);
    drop(file);
    Ok(report)
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
        Record {
            // A fixed time, so that two calls give equal records.
            at: Some(1_700_000_000 + config as u64),
            ..Record::new(
                &job,
                Outcome::Done {
                    metric: Metric::Accuracy,
                    scores: vec![score],
                    diverged: Vec::new(),
                },
                0.5,
            )
        }
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
    fn diverged_trials_are_written_only_when_there_are_some() {
        // Without divergence a record has the very bytes (and digest) it had before the field existed.
        let plain = encode(&Entry::Job(rec(0, 0.25)));
        assert!(!String::from_utf8_lossy(&plain).contains("diverged"));
        let mut r = rec(1, 0.5);
        if let Outcome::Done { diverged, .. } = &mut r.outcome {
            diverged.push(0);
        }
        let line = encode(&Entry::Job(r.clone()));
        assert!(String::from_utf8_lossy(&line).contains(r#""diverged":[0]"#));
        assert_eq!(decode(&line[..line.len() - 1]), Ok(Entry::Job(r)));
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
    fn a_store_open_elsewhere_reads_as_locked_until_it_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        assert!(
            !is_locked(&path).unwrap(),
            "a missing store is not being written"
        );
        let (s, _) = open(&path);
        assert!(is_locked(&path).unwrap());
        drop(s);
        assert!(!is_locked(&path).unwrap());
        // Looking does not lock: the store opens afterwards.
        drop(open(&path));
    }

    #[test]
    fn sessions_attribute_the_records_after_them_and_old_stores_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let session = |started, workers| Session {
            started,
            commit: Some("abc123".into()),
            version: "9.9.9".into(),
            cores: 2,
            workers,
            shard: None,
        };
        // Records of distinct jobs of a model with a large grid.
        let rec = |config: usize, score: f64| {
            let spec = Spec::new(vec!["D".into()]);
            let job = Job::validation(&spec, "D", ModelKind::MfEsn, config).unwrap();
            let done = Outcome::Done {
                metric: Metric::Accuracy,
                scores: vec![score],
                diverged: Vec::new(),
            };
            Record::new(&job, done, 0.5)
        };
        {
            let (mut s, _) = open(&path);
            s.append(Record {
                at: Some(50),
                ..rec(9, 0.1)
            })
            .unwrap();
            s.begin_session(&session(100, 2)).unwrap();
            s.append(Record {
                at: Some(130),
                ..rec(0, 0.5)
            })
            .unwrap();
            s.append(Record {
                at: Some(160),
                ..rec(1, 0.5)
            })
            .unwrap();
            s.begin_session(&session(1000, 1)).unwrap();
            s.append(Record {
                at: Some(1042),
                ..rec(2, 0.5)
            })
            .unwrap();
            s.begin_session(&session(5000, 1)).unwrap();
        }
        let c = read_store(&path).unwrap();
        assert_eq!(c.lines, 4);
        assert_eq!(c.without_session, 1);
        let spans: Vec<(u64, usize, u64)> = c
            .sessions
            .iter()
            .map(|s| (s.session.started, s.records, s.wall_s()))
            .collect();
        assert_eq!(spans, vec![(100, 2, 60), (1000, 1, 42), (5000, 0, 0)]);
        assert_eq!(c.sessions[0].session, session(100, 2));
        assert_eq!(c.records[&rec(1, 0.0).key].at, Some(160));
        // Reopening appends after the sessions, and repair keeps them.
        drop(open(&path));
        let report = repair(&path, Some("h")).unwrap();
        assert!(report.moved.is_empty());
        assert_eq!(read_store(&path).unwrap().sessions.len(), 3);
        // A format 1 store (no sessions, no times) still reads.
        let old = dir.path().join("old.jsonl");
        let mut f = File::create(&old).unwrap();
        f.write_all(&encode(&Entry::Header {
            format: 1,
            spec_hash: "h".into(),
        }))
        .unwrap();
        f.write_all(&encode(&Entry::Job(Record {
            at: None,
            ..rec(0, 0.5)
        })))
        .unwrap();
        drop(f);
        let c = read_store(&old).unwrap();
        assert_eq!((c.lines, c.sessions.len(), c.without_session), (1, 0, 1));
        assert!(Store::open(&old, "h").is_ok());
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

    fn failed(config: usize) -> Record {
        Record {
            outcome: Outcome::Failed {
                message: "oom".into(),
            },
            ..rec(config, 0.0)
        }
    }

    /// Appends `records` to the store at `path` as raw lines, bypassing [`Store::append`].
    fn append_raw(path: &Path, records: &[Record]) {
        let mut f = OpenOptions::new().append(true).open(path).unwrap();
        for r in records {
            f.write_all(&encode(&Entry::Job(r.clone()))).unwrap();
        }
    }

    #[test]
    fn two_successful_records_of_one_job_are_an_error_naming_the_file_and_both_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        drop(open(&path));
        // Line 2 and line 4 both record validation job #0 as done; so does a done-then-failed pair.
        append_raw(&path, &[rec(0, 0.25), rec(1, 0.5), rec(0, 0.75)]);
        let err = Store::open(&path, "h").unwrap_err();
        assert!(
            matches!(
                err,
                LabError::DuplicateRecord {
                    first: 2,
                    second: 4,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("lines 2 and 4"),
            "{msg}"
        );
        assert!(matches!(
            read_store(&path),
            Err(LabError::DuplicateRecord { .. })
        ));
        let other = dir.path().join("t.jsonl");
        drop(open(&other));
        append_raw(&other, &[rec(0, 0.25), failed(0)]);
        assert!(matches!(
            read_store(&other),
            Err(LabError::DuplicateRecord {
                first: 2,
                second: 3,
                ..
            })
        ));
    }

    #[test]
    fn a_failure_may_be_recorded_again_any_number_of_times_until_it_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        drop(open(&path));
        append_raw(&path, &[failed(0), failed(0), rec(0, 0.5)]);
        let c = read_store(&path).unwrap();
        assert_eq!(c.lines, 3);
        assert_eq!(
            c.records.values().cloned().collect::<Vec<_>>(),
            vec![rec(0, 0.5)]
        );
    }

    #[test]
    fn an_empty_store_file_is_a_new_store_not_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, b"").unwrap();
        let err = read_store(&path).unwrap_err();
        assert!(matches!(err, LabError::EmptyStore { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(!msg.contains("later") && !msg.contains("damaged"), "{msg}");
        let (s, rep) = open(&path);
        assert!(rep.created && s.records().is_empty());
    }

    #[test]
    fn damage_in_the_middle_names_the_repair_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, _) = open(&path);
            s.append(rec(0, 0.25)).unwrap();
            s.append(rec(1, 0.5)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("[0.25]", "[0.35]", 1)).unwrap();
        let msg = Store::open(&path, "h").unwrap_err().to_string();
        assert!(
            msg.contains(&format!("mf store repair {}", path.display())),
            "{msg}"
        );
    }

    #[test]
    fn repair_moves_damaged_lines_to_the_quarantine_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, _) = open(&path);
            s.append(rec(0, 0.25)).unwrap();
            s.append(rec(1, 0.5)).unwrap();
        }
        // Line 3 (config 1) gets a wrong checksum, line 4 records config 0 again, line 5 is garbage and
        // line 6 is torn.
        append_raw(&path, &[rec(0, 0.75)]);
        let text = std::fs::read_to_string(&path).unwrap();
        let damaged = text.replacen("[0.5]", "[0.6]", 1) + "garbage\n{\"sha256\":\"ab";
        std::fs::write(&path, &damaged).unwrap();
        let lines: Vec<&str> = damaged.split_inclusive('\n').collect();
        assert!(Store::open(&path, "h").is_err());

        let r = repair(&path, None).unwrap();
        assert_eq!(
            r.moved.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![3, 4, 5, 6]
        );
        assert_eq!(r.moved[0].1, "checksum mismatch");
        assert!(r.moved[1].1.contains("line 2"), "{:?}", r.moved);
        // Config 1 lost its only record and config 0 keeps line 2; the garbage and the torn line (cut before any
        // key) do not tell whether they recorded a job.
        assert_eq!(
            (r.kept, r.rerun, r.unreadable, r.header_rewritten),
            (1, 1, 2, false)
        );
        assert_eq!(r.quarantine, dir.path().join("s.jsonl.quarantine"));
        let q = std::fs::read_to_string(&r.quarantine).unwrap();
        assert_eq!(
            q,
            format!("{}{}garbage\n{{\"sha256\":\"ab\n", lines[2], lines[3])
        );
        // The kept lines are the original bytes, and the store opens with them.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}{}", lines[0], lines[1])
        );
        let (s, rep) = open(&path);
        assert_eq!(rep.recovered, None);
        assert_eq!(
            s.records().values().cloned().collect::<Vec<_>>(),
            vec![rec(0, 0.25)]
        );
        drop(s);
        // A second repair finds nothing to move and writes nothing.
        let again = repair(&path, Some("h")).unwrap();
        assert!(again.moved.is_empty() && again.rerun == 0);
        assert_eq!(std::fs::read_to_string(&r.quarantine).unwrap(), q);
    }

    /// The lines of the store at `path`, without their newlines.
    fn lines_of(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn write_lines(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    /// `line` cut just after its job key, as a torn write leaves it.
    fn torn_after_key(line: &str) -> String {
        line[..line.find(",\"params\"").unwrap() + 4].to_string()
    }

    #[test]
    fn damaged_lines_of_a_session_or_of_a_job_with_a_kept_record_rerun_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, _) = open(&path);
            s.begin_session(&Session::now(1, None)).unwrap();
        }
        // Line 3 records job 0 as failed, line 4 as done; line 5 records job 1.
        append_raw(&path, &[failed(0), rec(0, 0.5), rec(1, 0.25)]);
        let mut lines = lines_of(&path);
        // The session line gets a wrong checksum, and job 0's failure is torn after its key.
        lines[1] = lines[1].replacen("\"cores\":", "\"cores\":1", 1);
        lines[2] = torn_after_key(&lines[2]);
        write_lines(&path, &lines);
        assert!(Store::open(&path, "h").is_err());

        let r = repair(&path, None).unwrap();
        assert_eq!(
            r.moved.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!((r.kept, r.rerun, r.unreadable), (2, 0, 0));
        let c = read_store(&path).unwrap();
        assert_eq!(
            c.records.values().cloned().collect::<Vec<_>>(),
            vec![rec(0, 0.5), rec(1, 0.25)]
        );
    }

    #[test]
    fn a_job_whose_every_record_was_moved_runs_again_and_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        drop(open(&path));
        // Jobs of a model with a larger grid.
        let job = |config: usize, outcome: Outcome| {
            let spec = Spec::new(vec!["D".into()]);
            let job = Job::validation(&spec, "D", ModelKind::MfEsn, config).unwrap();
            Record {
                at: Some(1_700_000_000),
                ..Record::new(&job, outcome, 0.5)
            }
        };
        let done = |config: usize| {
            let scores = vec![0.5];
            let diverged = Vec::new();
            job(
                config,
                Outcome::Done {
                    metric: Metric::Accuracy,
                    scores,
                    diverged,
                },
            )
        };
        let failed = |config: usize| {
            let message = "oom".to_string();
            job(config, Outcome::Failed { message })
        };
        // Lines 2-6: job 0 done, job 1 failed twice, jobs 2 and 3 done.
        append_raw(&path, &[done(0), failed(1), failed(1), done(2), done(3)]);
        let mut lines = lines_of(&path);
        // Both records of job 1 are damaged: one with a wrong checksum, one torn after its key. Job 2's record
        // is garbled after its key, so its JSON no longer parses.
        lines[2] = lines[2].replacen("oom", "OOM", 1);
        lines[3] = torn_after_key(&lines[3]);
        lines[4] = lines[4].replacen("\"seeds\"", "\"se\"eds\"", 1);
        write_lines(&path, &lines);

        let r = repair(&path, None).unwrap();
        assert_eq!(
            r.moved.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!((r.kept, r.rerun, r.unreadable), (2, 2, 0));
        let c = read_store(&path).unwrap();
        assert_eq!(
            c.records.keys().map(|k| k.config).collect::<Vec<_>>(),
            vec![0, 3]
        );
    }

    #[test]
    fn repair_writes_a_damaged_header_anew_only_for_a_known_spec() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        {
            let (mut s, _) = open(&path);
            s.append(rec(0, 0.25)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"h\"", "\"x\"", 1)).unwrap();
        assert!(matches!(
            repair(&path, None),
            Err(LabError::CannotRepair { .. })
        ));
        let r = repair(&path, Some("h")).unwrap();
        assert_eq!((r.kept, r.rerun, r.header_rewritten), (1, 0, true));
        let (s, _) = open(&path);
        assert_eq!(s.records().len(), 1);
        // A valid header of another spec is not rewritten.
        drop(s);
        assert!(matches!(
            repair(&path, Some("other")),
            Err(LabError::SpecMismatch { .. })
        ));
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
        let spec = Spec::new(vec!["D".into()]);
        let stored: Vec<Record> = {
            let (mut s, _) = open(&path);
            awkward
                .iter()
                .zip(ModelKind::TABLE_ORDER.iter().cycle())
                .enumerate()
                .map(|(i, (&x, &model))| {
                    let job = Job::validation(&spec, "D", model, i / 4).unwrap();
                    s.append(Record::new(&job, rec(0, x).outcome, 0.5)).unwrap()
                })
                .collect()
        };
        let (s, _) = open(&path);
        for r in &stored {
            assert_eq!(s.get(&r.key), Some(r));
        }
    }
}
