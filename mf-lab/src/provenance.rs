//! Where a results table comes from: the spec (its hash and the settings that shape the numbers), what its store
//! holds, and the sessions that computed it (program commit, cores, workers, wall time), as the header lines of a
//! rendered table.

use std::fmt::Write as _;

use crate::store::{SessionSpan, StoreContents};
use crate::table::Format;
use crate::Spec;

/// The provenance of the results of `spec` held in a store.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// The spec's hash ([`Spec::hash`]).
    pub spec_hash: String,
    /// Data sets of the spec.
    pub datasets: usize,
    /// Each model of the spec with the number of configurations of its grid.
    pub grids: Vec<(String, usize)>,
    /// Reservoir draws per configuration in model selection.
    pub draws: usize,
    /// Final trials.
    pub trials: usize,
    /// The spec's seed.
    pub seed: u64,
    /// Validation fraction of the training split.
    pub val_fraction: f64,
    /// Recurrent units.
    pub n_units: usize,
    /// The trainable models' protocol, when the spec has trainable models.
    pub protocol: Option<String>,
    /// Input normalisation, when not `none`.
    pub normalise: Option<String>,
    /// Job records (last record per job) and how many of them are failures.
    pub records: (usize, usize),
    /// The sessions that wrote the store.
    pub sessions: Vec<SessionSpan>,
    /// Records stored before any session (older stores, merged shards): no commit or time is known for them.
    pub without_session: usize,
}

impl Provenance {
    /// The provenance of the results of `spec` in the store whose contents are `contents`.
    pub fn of(spec: &Spec, contents: &StoreContents) -> Provenance {
        Provenance {
            spec_hash: spec.hash(),
            datasets: spec.datasets.len(),
            grids: spec
                .models
                .iter()
                .map(|&m| (m.id().to_string(), spec.grid_for(m).len()))
                .collect(),
            draws: spec.draws,
            trials: spec.trials,
            seed: spec.seed,
            val_fraction: spec.val_fraction,
            n_units: spec.n_units,
            protocol: spec
                .models
                .iter()
                .any(|m| !m.is_reservoir())
                .then(|| spec.training_protocol().to_string()),
            normalise: (!spec.normalise.is_none()).then(|| spec.normalise.to_string()),
            records: (
                contents.records.len(),
                contents.records.values().filter(|r| r.is_failed()).count(),
            ),
            sessions: contents.sessions.clone(),
            without_session: contents.without_session,
        }
    }

    /// Seconds from the start of each session to its last record, summed over the sessions.
    pub fn wall_s(&self) -> u64 {
        self.sessions.iter().map(SessionSpan::wall_s).sum()
    }

    /// The provenance as sentences, one per line.
    pub fn lines(&self) -> Vec<String> {
        let mut spec = format!(
            "Spec {}: {} data set{}; grids {}; {} draws per configuration in selection, {} final trials; \
             seed {}; validation fraction {}; {} units",
            short(&self.spec_hash),
            self.datasets,
            plural(self.datasets),
            self.grids
                .iter()
                .map(|(m, n)| format!("{m} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.draws,
            self.trials,
            self.seed,
            self.val_fraction,
            self.n_units,
        );
        if let Some(p) = &self.protocol {
            let _ = write!(spec, "; protocol {p}");
        }
        if let Some(n) = &self.normalise {
            let _ = write!(spec, "; input normalisation {n}");
        }
        spec.push('.');
        let (records, failed) = self.records;
        let mut store = format!(
            "Store: {records} job records ({failed} failed), computed in {} session{} taking {} in all",
            self.sessions.len(),
            plural(self.sessions.len()),
            duration(self.wall_s()),
        );
        if self.without_session > 0 {
            let _ = write!(
                store,
                ", plus {} records written before sessions were recorded (no commit or time known)",
                self.without_session
            );
        }
        store.push('.');
        let mut lines = vec![spec, store];
        for (i, span) in self.sessions.iter().enumerate() {
            let s = &span.session;
            lines.push(format!(
                "Session {}: started {} UTC, commit {}, mf-lab {}, {} core{}, {} worker{}{}; {} records in {}.",
                i + 1,
                utc(s.started),
                s.commit.as_deref().unwrap_or("unknown"),
                s.version,
                s.cores,
                plural(s.cores),
                s.workers,
                plural(s.workers),
                s.shard
                    .as_ref()
                    .map_or(String::new(), |sh| format!(", shard {sh}")),
                span.records,
                duration(span.wall_s()),
            ));
        }
        lines
    }

    /// The header of a table rendered in `format`: a paragraph in Markdown, `#` comment lines in CSV, `%` comment
    /// lines in LaTeX; each ends with a blank line (none for CSV).
    pub fn header(&self, format: Format) -> String {
        match format {
            Format::Markdown => self.titled_header("Provenance.", format),
            Format::Csv | Format::Latex => self.titled_header("", format),
        }
    }

    /// The headers of a table joined from several specs ([`crate::table::ResultTable::join`]): one paragraph
    /// per spec, titled with the models whose columns it gave; one spec gives [`Provenance::header`].
    pub fn headers(all: &[Provenance], format: Format) -> String {
        if let [one] = all {
            return one.header(format);
        }
        all.iter()
            .map(|p| {
                let models: Vec<&str> = p.grids.iter().map(|(m, _)| m.as_str()).collect();
                let title = format!("Provenance of the {} columns.", models.join(", "));
                p.titled_header(&title, format)
            })
            .collect()
    }

    /// The header under `title` (in CSV and LaTeX a comment line of its own, none when empty).
    fn titled_header(&self, title: &str, format: Format) -> String {
        let mut lines = self.lines();
        if !title.is_empty() && format != Format::Markdown {
            lines.insert(0, title.to_string());
        }
        match format {
            Format::Markdown => {
                let mut s = String::from(title);
                for l in &lines {
                    s.push_str("  \n");
                    s.push_str(l);
                }
                s.push_str("\n\n");
                s
            }
            Format::Csv => lines.iter().map(|l| format!("# {l}\n")).collect(),
            Format::Latex => {
                let mut s: String = lines.iter().map(|l| format!("% {l}\n")).collect();
                s.push('\n');
                s
            }
        }
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(16)]
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `1 h 02 min 05 s`, `14 min 12 s`, `42 s`.
fn duration(s: u64) -> String {
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s:02} s"),
        _ => format!("{h} h {m:02} min {s:02} s"),
    }
}

/// `2026-12-01 19:40` for seconds since the Unix epoch (UTC; the proleptic Gregorian calendar).
pub(crate) fn utc(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let (hh, mm) = (t % 86_400 / 3600, t % 3600 / 60);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Job;
    use crate::spec::Metric;
    use crate::store::{read_store, Outcome, Record, Session, Store};
    use crate::ModelKind;

    #[test]
    fn dates_match_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        // 2000-02-29 12:34 UTC (a leap day of a century leap year).
        assert_eq!(utc(951_827_640), "2000-02-29 12:34");
        // 2026-12-01 18:46 UTC.
        assert_eq!(utc(1_796_150_760), "2026-12-01 18:46");
        assert_eq!(duration(42), "42 s");
        assert_eq!(duration(852), "14 min 12 s");
        assert_eq!(duration(3725), "1 h 02 min 05 s");
    }

    #[test]
    fn the_header_states_the_spec_the_records_and_each_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.jsonl");
        let mut spec = Spec::new(vec!["A".into(), "B".into()]);
        spec.models = vec![ModelKind::Rnn];
        spec.seed = 77;
        spec.trials = 3;
        let (mut store, _) = Store::open(&path, &spec.hash()).unwrap();
        let job = Job::validation(&spec, "A", ModelKind::Rnn, 0).unwrap();
        let done = Outcome::Done {
            metric: Metric::Accuracy,
            scores: vec![0.5],
            diverged: Vec::new(),
        };
        store
            .begin_session(&Session {
                started: 1_796_150_760,
                commit: Some("0123456789ab".into()),
                version: "1.2.3".into(),
                cores: 2,
                workers: 2,
                shard: Some("0/4".into()),
            })
            .unwrap();
        store
            .append(Record {
                at: Some(1_796_150_760 + 852),
                ..Record::new(&job, done, 1.0)
            })
            .unwrap();
        let job_b = Job::validation(&spec, "B", ModelKind::Rnn, 0).unwrap();
        let failed = Outcome::Failed {
            message: "x".into(),
        };
        store
            .append(Record {
                at: Some(1_796_150_760 + 100),
                ..Record::new(&job_b, failed, 1.0)
            })
            .unwrap();
        drop(store);
        let p = Provenance::of(&spec, &read_store(&path).unwrap());
        let grid = spec.grid_for(ModelKind::Rnn).len();
        assert!(grid > 0);
        let lines = p.lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with(&format!("Spec {}: 2 data sets", &spec.hash()[..16])));
        assert!(
            lines[0].contains(&format!("grids rnn {grid};")),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains("5 draws per configuration in selection, 3 final trials; seed 77")
        );
        assert!(lines[0].contains("protocol reference"), "{}", lines[0]);
        assert!(lines[1].starts_with("Store: 2 job records (1 failed), computed in 1 session"));
        assert_eq!(
            lines[2],
            "Session 1: started 2026-12-01 18:46 UTC, commit 0123456789ab, mf-lab 1.2.3, 2 cores, \
             2 workers, shard 0/4; 2 records in 14 min 12 s."
        );
        let md = p.header(Format::Markdown);
        assert!(md.starts_with("Provenance.  \nSpec ") && md.ends_with("\n\n"));
        let csv = p.header(Format::Csv);
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.lines().all(|l| l.starts_with("# ")));
        assert!(p
            .header(Format::Latex)
            .lines()
            .take(3)
            .all(|l| l.starts_with("% ")));
    }
}
