//! The messages of the dashboard: what comes in ([`Key`]s and other [`Action`]s) and what [`super::update`]
//! asks the runtime to do ([`Effect`]s).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mf_lab::robustness::{Point, Robustness, RobustnessRequest};
use mf_lab::{Event, JobKey, JobProgress, Record, RunSummary, Spec};

use super::data::{StabilityParams, StabilityPicture};
use super::robustness::{CurveData, CurveId};
use super::runs::RunId;
use super::tabs::sequence::{SequenceParams, SequencePicture};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
}

/// A sweep found in the results directory when the dashboard opens.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSweep {
    /// Its spec (from `spec.toml`).
    pub spec: Spec,
    /// Its records (from `store.jsonl`).
    pub records: BTreeMap<JobKey, Record>,
}

/// A message to `update`: a key, a tick of the clock, or the result of an [`Effect`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A key was pressed.
    Key(Key),
    /// Time since the dashboard opened (drives elapsed times and redraws).
    Tick(Duration),
    /// The terminal's size in cells, `(width, height)`; bounds the scrolling of long messages.
    Resize(u16, u16),
    /// Sweeps found in the results directory at start-up.
    Restored(Vec<StoredSweep>),
    /// A spec file was read ([`Effect::LoadSpec`]); an `Err` carries the message to show.
    SpecLoaded(Result<Spec, String>),
    /// A sweep's store is open; these records were already in it (those jobs are skipped).
    StoreOpened {
        /// The sweep.
        run: RunId,
        /// The records found.
        records: BTreeMap<JobKey, Record>,
    },
    /// An engine event of a sweep.
    Engine {
        /// The sweep.
        run: RunId,
        /// The event.
        event: Event,
    },
    /// A sweep's run returned (or could not start).
    RunEnded {
        /// The sweep.
        run: RunId,
        /// What it did, or why it stopped.
        result: Result<RunSummary, String>,
    },
    /// A stability picture was computed ([`Effect::ComputeStability`]).
    StabilityComputed {
        /// The configuration it belongs to.
        params: StabilityParams,
        /// The picture, or why there is none.
        result: Result<StabilityPicture, String>,
    },
    /// A sequence picture was computed ([`Effect::ComputeSequence`]).
    SequenceComputed {
        /// The settings it belongs to.
        params: SequenceParams,
        /// The picture, or why there is none.
        result: Result<SequencePicture, String>,
    },
    /// A file was written ([`Effect::Export`]).
    Exported(Result<PathBuf, String>),
    /// A draw of a robustness curve started ([`Effect::StartCurve`]).
    CurveProgress {
        /// The curve.
        curve: CurveId,
        /// The model id, the level and the draw (its score is not known yet).
        point: Point,
        /// Progress inside the (model, level).
        progress: JobProgress,
    },
    /// A draw of a robustness curve was scored.
    CurvePoint {
        /// The curve.
        curve: CurveId,
        /// The draw.
        point: Point,
    },
    /// A robustness curve's run returned: every level, or why it stopped.
    CurveEnded {
        /// The curve.
        curve: CurveId,
        /// The curves, or the error.
        result: Result<Robustness, String>,
    },
    /// A file of `mf robustness` was read ([`Effect::LoadCurve`]).
    CurveLoaded {
        /// The file or directory asked for.
        path: PathBuf,
        /// What it holds, or why it cannot be shown.
        result: Result<CurveData, String>,
    },
    /// Something outside the dashboard went wrong; shown as an error.
    Error(String),
}

/// A side effect the runtime performs for `update`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Open the sweep's store (answer with [`Action::StoreOpened`]), then run it on worker threads, sending
    /// [`Action::Engine`] events and finally [`Action::RunEnded`].
    StartRun {
        /// The sweep.
        run: RunId,
        /// What to run.
        spec: Spec,
        /// Run again jobs stored as failed.
        retry_failed: bool,
    },
    /// Stop starting new jobs of the sweep.
    Pause(RunId),
    /// Start new jobs of the sweep again.
    Resume(RunId),
    /// Stop the sweep once its running jobs are stored.
    Cancel(RunId),
    /// Read and parse a spec file; answer with [`Action::SpecLoaded`].
    LoadSpec(PathBuf),
    /// Write `contents` to `path`; answer with [`Action::Exported`].
    Export {
        /// The file.
        path: PathBuf,
        /// Its contents.
        contents: String,
    },
    /// Compute the stability picture; answer with [`Action::StabilityComputed`].
    ComputeStability(StabilityParams),
    /// Compute a sequence picture on a worker thread; answer with [`Action::SequenceComputed`].
    ComputeSequence(SequenceParams),
    /// Run a robustness curve on a worker thread, sending [`Action::CurveProgress`] and [`Action::CurvePoint`]
    /// as draws start and end, then [`Action::CurveEnded`].
    StartCurve {
        /// The curve.
        curve: CurveId,
        /// What to run.
        request: RobustnessRequest,
    },
    /// Stop the curve's run (it ends with [`Action::CurveEnded`]).
    CancelCurve(CurveId),
    /// Read a file (or output directory) of `mf robustness`; answer with [`Action::CurveLoaded`].
    LoadCurve(PathBuf),
    /// Close the dashboard.
    Quit,
}
