//! The runtime over the real engine and store, with a fake evaluator and no terminal: sweeps run on worker
//! threads, finished results survive closing, reopening offers to resume, and bad input becomes an error in
//! the interface.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mf_lab::{
    CancelToken, Evaluator, Job, JobError, JobOutcome, JobProgress, JobStep, Metric, Stage,
};
use mf_tui::dashboard::{
    Action, App, DashboardConfig, DatasetSummary, Key, Popup, RunState, Runtime,
};

/// Scores are a function of the configuration; configuration 1 of the RNN fails, as a diverging run would.
#[derive(Debug)]
struct Fake {
    delay: Duration,
}

impl Evaluator for Fake {
    fn evaluate(
        &self,
        job: &Job,
        progress: &dyn Fn(JobProgress),
        _cancel: &CancelToken,
    ) -> Result<JobOutcome, JobError> {
        std::thread::sleep(self.delay);
        if job.key.stage == Stage::Validation
            && job.key.model == mf_lab::ModelKind::Rnn
            && job.key.config == 1
        {
            return Err(JobError::new("diverged at step 3"));
        }
        progress(JobProgress {
            fraction: 0.5,
            step: JobStep::Epoch {
                trial: 1,
                epoch: 1,
                train_loss: 0.5,
                val_loss: 0.5,
                val_metric: 0.7,
            },
        });
        Ok(JobOutcome {
            scores: job
                .seeds
                .iter()
                .map(|s| 0.5 + 0.1 * job.key.config as f64 + (s % 7) as f64 / 100.0)
                .collect(),
            metric: Metric::Accuracy,
            wall: Duration::from_millis(1),
            diverged: Vec::new(),
        })
    }
}

const SPEC: &str = r#"
datasets = ["SyntheticControl"]
models = ["esn", "rnn"]
draws = 2
trials = 2
[grid.esn]
alpha = [0.5, 1]
[grid.rnn]
lr = [0.001, 0.01]
"#;

fn config(
    dir: &std::path::Path,
    delay: Duration,
    specs: Vec<std::path::PathBuf>,
) -> DashboardConfig {
    let mut c = DashboardConfig::new(
        dir.to_path_buf(),
        Arc::new(Fake { delay }),
        vec![DatasetSummary {
            name: "SyntheticControl".into(),
            ..Default::default()
        }],
    );
    c.threads = 2;
    c.specs = specs;
    c
}

/// Pumps background actions until `done` holds or ten seconds pass.
fn pump(rt: &mut Runtime, app: &mut App, done: impl Fn(&App) -> bool) {
    let start = Instant::now();
    while !done(app) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {:?}",
            app.status
        );
        rt.wait(app, Duration::from_millis(20));
    }
}

#[test]
fn a_sweep_runs_in_the_background_and_its_results_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("small.toml");
    std::fs::write(&spec_path, SPEC).unwrap();
    let results = dir.path().join("results");
    let (mut rt, mut app) = Runtime::new(config(&results, Duration::ZERO, vec![spec_path]));
    pump(&mut rt, &mut app, |a| {
        a.runs
            .first()
            .is_some_and(|r| r.state == RunState::Finished)
    });
    let run = &app.runs[0];
    // 4 validation jobs, one failed, then a final job per model.
    assert_eq!(run.tally(), (0, 1, 0, 5), "{:?}", run.jobs);
    let table = run.table();
    assert!(table.rows[0].cells.iter().all(|c| c.ours.is_some()));
    // Export writes the table beside the store.
    rt.dispatch(&mut app, Action::Key(Key::Char('3')));
    rt.dispatch(&mut app, Action::Key(Key::Char('v')));
    assert!(app.status.starts_with("wrote"), "{}", app.status);
    let csv = std::fs::read_to_string(
        results
            .join(app.runs[0].spec.short_hash())
            .join("table-iv.csv"),
    )
    .unwrap();
    assert!(csv.contains("SyntheticControl"));
    // The default analysis (paper Fig. 6 over mf-core) answers the Stability view, and a key moves it.
    rt.dispatch(&mut app, Action::Key(Key::Char('4')));
    let before = app.stability.picture.clone().unwrap().unwrap();
    assert_eq!(before.eigenvalues.len(), 100);
    rt.dispatch(&mut app, Action::Key(Key::Char('l')));
    let after = app.stability.picture.clone().unwrap().unwrap();
    assert!(
        after.v6_bounds.0 < before.v6_bounds.0,
        "a larger dt moves the left line left"
    );
    drop(rt);

    // Reopening shows the stored sweep as complete; nothing is offered for resumption.
    let (mut rt, mut app) = Runtime::new(config(&results, Duration::ZERO, Vec::new()));
    rt.drain(&mut app);
    assert_eq!(app.runs.len(), 1);
    assert_eq!(app.runs[0].state, RunState::Stored { complete: true });
    assert_eq!(app.runs[0].tally(), (0, 1, 0, 5));
    assert_eq!(app.popup, None);
}

#[test]
fn an_interrupted_sweep_is_offered_for_resumption_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("small.toml");
    std::fs::write(&spec_path, SPEC).unwrap();
    let results = dir.path().join("results");
    let (mut rt, mut app) = Runtime::new(config(
        &results,
        Duration::from_millis(150),
        vec![spec_path],
    ));
    pump(&mut rt, &mut app, |a| {
        a.runs.first().is_some_and(|r| r.tally().3 >= 1)
    });
    rt.dispatch(&mut app, Action::Key(Key::Char('c')));
    pump(&mut rt, &mut app, |a| {
        a.runs[0].state == RunState::Cancelled
    });
    let stored = app.runs[0].records.len();
    assert!(stored < 6, "cancelled before the end: {stored}");
    drop(rt);

    let (mut rt, mut app) = Runtime::new(config(&results, Duration::ZERO, Vec::new()));
    rt.drain(&mut app);
    assert_eq!(app.runs[0].state, RunState::Stored { complete: false });
    assert_eq!(app.runs[0].records.len(), stored);
    assert!(matches!(app.popup, Some(Popup::ResumeOffer(_))));
    rt.dispatch(&mut app, Action::Key(Key::Char('y')));
    pump(&mut rt, &mut app, |a| a.runs[0].state == RunState::Finished);
    assert_eq!(app.runs[0].tally(), (0, 1, 0, 5));
}

#[test]
fn a_malformed_spec_file_and_a_missing_one_show_errors_and_the_dashboard_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "datasets = [\"A\"]\nmodels = [\"lstm\"]\n").unwrap();
    let mut c = config(dir.path(), Duration::ZERO, vec![bad]);
    c.stability = None;
    let (mut rt, mut app) = Runtime::new(c);
    rt.drain(&mut app);
    assert!(
        matches!(app.popup, Some(Popup::Error { .. })),
        "{:?}",
        app.popup
    );
    assert!(app.runs.is_empty());
    rt.dispatch(&mut app, Action::Key(Key::Esc));
    rt.dispatch(&mut app, Action::Key(Key::Char('o')));
    for c in dir.path().join("missing.toml").to_string_lossy().chars() {
        rt.dispatch(&mut app, Action::Key(Key::Char(c)));
    }
    rt.dispatch(&mut app, Action::Key(Key::Enter));
    assert!(app.status.contains("missing.toml"), "{}", app.status);
    // Without a stability analysis the view says so instead of failing.
    rt.dispatch(&mut app, Action::Key(Key::Esc));
    rt.dispatch(&mut app, Action::Key(Key::Char('4')));
    assert!(matches!(app.stability.picture, Some(Err(_))));
    assert!(rt.dispatch(&mut app, Action::Key(Key::Char('l'))));
    assert!(!rt.dispatch(&mut app, Action::Key(Key::Char('q'))));
}

#[test]
fn two_bad_spec_files_at_start_up_are_both_shown() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "datasets = [\"A\"]\nmodels = [\"lstm\"]\n").unwrap();
    let missing = dir.path().join("missing.toml");
    let mut c = config(dir.path(), Duration::ZERO, vec![bad, missing]);
    c.stability = None;
    let (mut rt, mut app) = Runtime::new(c);
    rt.drain(&mut app);
    let Some(Popup::Error { messages, .. }) = &app.popup else {
        panic!("{:?}", app.popup)
    };
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("lstm"), "{messages:?}");
    assert!(messages[1].contains("missing.toml"), "{messages:?}");
    // One Esc closes them all; the dashboard goes on.
    rt.dispatch(&mut app, Action::Key(Key::Esc));
    assert_eq!(app.popup, None);
    assert!(rt.dispatch(&mut app, Action::Key(Key::Tab)));
}

#[test]
fn cancelling_a_training_mf_rnn_job_stops_it_within_a_second_and_stores_nothing_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("long.toml");
    // One MF-RNN job that would train for 100 000 epochs on the generated control charts.
    std::fs::write(
        &spec_path,
        "datasets = [\"synthetic-control\"]\nmodels = [\"mf-rnn\"]\nn_units = 16\nmax_epochs = 100000\n\
         [grid.mf-rnn]\nlr = [0.001]\npatience = [100000]\n",
    )
    .unwrap();
    let results = dir.path().join("results");
    let mut c = DashboardConfig::new(
        results.clone(),
        Arc::new(mf_lab::eval::ModelEvaluator::new(dir.path().to_path_buf())),
        Vec::new(),
    );
    c.threads = 1;
    c.specs = vec![spec_path];
    c.stability = None;
    let (mut rt, mut app) = Runtime::new(c);
    // Wait for a few epochs of training.
    pump(&mut rt, &mut app, |a| {
        a.runs.first().is_some_and(|r| {
            r.jobs
                .values()
                .any(|j| j.note.starts_with("epoch ") && j.fraction > 0.0)
        })
    });
    let t0 = Instant::now();
    rt.dispatch(&mut app, Action::Key(Key::Char('c')));
    pump(&mut rt, &mut app, |a| {
        a.runs[0].state == RunState::Cancelled
    });
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
    assert!(
        app.runs[0].records.is_empty(),
        "an interrupted job is not stored as failed"
    );
}
