//! The `mf` terminal dashboard: queue sweeps, watch them run, read Table IV, explore stability and data.
//!
//! # Structure
//!
//! - [`App`] is the whole state; [`view`] draws it and is a pure function of it.
//! - Keys, clock ticks and background notifications (engine [`mf_lab::Event`]s, loaded specs, computed
//!   pictures) are [`Action`]s; [`update`] applies one and does no I/O, returning [`Effect`]s.
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

mod app;
mod data;
mod estimate;
mod params;
mod robustness;
mod runtime;
mod view;

pub use app::{
    update, Action, App, Confirm, Curves, Effect, Form, JobRow, JobState, Key, ModelChoice, Popup,
    Preset, RobustnessView, RunEntry, RunId, RunState, SortKey, StabilityView, StoredSweep, Tab,
    FORM_FIXED_FIELDS, MAX_ERRORS,
};
pub use data::{
    ClassExamples, DatasetSummary, Fig6Stability, ReservoirTrace, StabilityAnalyzer,
    StabilityParams, StabilityPicture,
};
pub use estimate::{approx, estimate, Estimate, LONG_RUN, MANY_JOBS};
pub use params::{defaults, parse_values, ParamField};
pub use robustness::{
    levels_of, parse_curve, read_curve, CurveData, CurveEntry, CurveForm, CurveId, CurveState,
    CURVE_FIXED_FIELDS,
};
pub use runtime::{run_dashboard, scan_results, DashboardConfig, Runtime};
pub use view::{clock, view, KEYS};
