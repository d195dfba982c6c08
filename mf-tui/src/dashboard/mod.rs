//! The `mf` terminal dashboard: queue sweeps, watch them run, read Table IV, explore stability and data.
//!
//! # Structure
//!
//! - [`App`] is the whole state; [`view`] draws it and is a pure function of it.
//! - Keys, clock ticks and background notifications (engine [`mf_lab::Event`]s, loaded specs, computed
//!   pictures) are [`Action`]s; [`update`] applies one and does no I/O, returning [`Effect`]s.
//! - [`App`] composes one part per view (the `tabs` modules: Queue, Live, Results, Stability, Data,
//!   Robustness, each with its state and its keys), the queued sweeps (`runs`), the add-run form (`form`) and
//!   the popups (`popup`, one key handler each); [`update`] only dispatches to them.
//! - [`Runtime`] performs effects: sweeps run on worker threads through [`mf_lab::run()`] and report
//!   through a channel; [`run_dashboard`] owns the terminal.
//!
//! # Entry point
//!
//! The binary builds a [`DashboardConfig`] with the results directory, an [`mf_lab::Evaluator`], the
//! data set catalog as [`DatasetSummary`] values, and optionally a [`ReservoirTrace`] and a
//! [`StabilityAnalyzer`] (default: [`Fig6Stability`], the paper's Fig. 6 setting over mf-core), then calls
//! [`run_dashboard`].
//!
//! Bad input is shown, never dropped: every error is kept (`e` shows them all in full, wrapped and scrollable;
//! errors arriving together share one popup), Enter on a failed job opens its whole message, the Data view
//! lists the data sets that did not load with the reason, and the form asks before queueing a long run
//! (its job count and a rough duration from [`estimate()`]).
//!
//! The add-run form offers the paper's four models, every registered model, or one model with a field for each
//! of its hyper-parameters ([`mf_lab::Model::param_names`], filled from the preset, checked by the model at
//! every change). The Robustness view runs [`mf_lab::robustness`] curves on a worker thread (progress, cancel)
//! or opens the CSV files of `mf robustness`, and draws score against level with the spread over draws.
//!
//! The Live view draws training curves from progress notes: an evaluator that reports
//! `JobProgress { message: "epoch 140 loss=0.231 val=0.874", .. }` gets a loss and a validation curve over
//! epochs (`epoch <n>` or `epoch=<n>`; without it, points are numbered in arrival order).
//!
//! # Invariants
//!
//! - Only [`run_dashboard`] touches the terminal; only [`Runtime`] touches files and threads.
//! - Closing the dashboard never deletes a record: results live in the engine's store, and reopening shows
//!   them and offers to resume unfinished sweeps.

mod action;
mod app;
mod data;
mod estimate;
mod form;
mod params;
mod popup;
mod robustness;
mod runs;
mod runtime;
mod tabs;
mod view;

pub use action::{Action, Effect, Key, StoredSweep};
pub use app::{update, App, MAX_ERRORS};
pub use data::{
    ClassExamples, DatasetSummary, Fig6Stability, ReservoirTrace, StabilityAnalyzer,
    StabilityParams, StabilityPicture,
};
pub use estimate::{approx, estimate, Estimate, LONG_RUN, MANY_JOBS};
pub use form::{Confirm, Form, ModelChoice, Preset, FORM_FIXED_FIELDS};
pub use params::{defaults, parse_values, ParamField};
pub use popup::Popup;
pub use robustness::{
    levels_of, parse_curve, read_curve, CurveData, CurveEntry, CurveForm, CurveId, CurveState,
    CURVE_FIXED_FIELDS,
};
pub use runs::{Curves, JobRow, JobState, RunEntry, RunId, RunState};
pub use runtime::{run_dashboard, scan_results, DashboardConfig, Runtime};
pub use tabs::results::SortKey;
pub use tabs::robustness::RobustnessView;
pub use tabs::sequence::{
    compute as compute_sequence, SequenceParams, SequencePicture, SequenceView,
};
pub use tabs::stability::StabilityView;
pub use tabs::Tab;
pub use view::{clock, view, KEYS};
