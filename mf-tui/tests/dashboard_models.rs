//! The dashboard reaches every registered model and every hyper-parameter, and draws robustness curves: the
//! forms driven by keys through the runtime, real jobs on the generated synthetic-control set, and the results
//! checked against the library run directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mf_lab::eval::ModelEvaluator;
use mf_lab::single::run_trials_on_test;
use mf_lab::{read_store, CancelToken, Evaluator, Job, ModelKind, Params, Stage};
use mf_tui::dashboard::{
    view, Action, App, CurveState, DashboardConfig, DatasetSummary, Effect, Key, ModelChoice,
    Popup, RunState, Runtime, Tab, CURVE_FIXED_FIELDS, FORM_FIXED_FIELDS,
};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn catalog() -> Vec<DatasetSummary> {
    vec![DatasetSummary {
        name: "synthetic-control".into(),
        source: "generated".into(),
        n_train: 300,
        n_test: 300,
        length: (60, 60),
        n_inputs: 1,
        n_classes: Some(6),
        ..DatasetSummary::default()
    }]
}

/// A runtime over the real evaluator, with `dir` as data directory (empty: the generated sets only).
fn runtime(dir: &Path) -> (Runtime, App) {
    let mut c = DashboardConfig::new(
        dir.join("results"),
        Arc::new(ModelEvaluator::new(dir.to_path_buf())),
        catalog(),
    );
    c.threads = 1;
    c.stability = None;
    c.data_dir = dir.to_path_buf();
    let (mut rt, mut app) = Runtime::new(c);
    rt.drain(&mut app);
    (rt, app)
}

fn key(rt: &mut Runtime, app: &mut App, k: Key) {
    rt.dispatch(app, Action::Key(k));
}

fn typed(rt: &mut Runtime, app: &mut App, text: &str) {
    for c in text.chars() {
        key(rt, app, Key::Char(c));
    }
}

/// Pumps background actions until `done` holds or `secs` seconds pass.
fn pump(rt: &mut Runtime, app: &mut App, secs: u64, done: impl Fn(&App) -> bool) {
    let start = Instant::now();
    while !done(app) {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out: {:?}",
            app.status
        );
        rt.wait(app, Duration::from_millis(20));
    }
}

fn frame(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view(app, f)).unwrap();
    let buf = terminal.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

fn run_form(app: &App) -> &mf_tui::dashboard::Form {
    match &app.popup {
        Some(Popup::Form(f)) => f,
        other => panic!("the run form is not open: {other:?}"),
    }
}

/// Selects the run form's field `name` with `j`, clears it and types `text`.
fn set_run_field(rt: &mut Runtime, app: &mut App, name: &str, text: &str) {
    let form = run_form(app);
    let i = form
        .params
        .iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    while run_form(app).field != FORM_FIXED_FIELDS + i {
        key(rt, app, Key::Char('j'));
    }
    for _ in 0..run_form(app).params[i].text.chars().count() {
        key(rt, app, Key::Backspace);
    }
    typed(rt, app, text);
    assert_eq!(run_form(app).params[i].text, text);
}

/// Opens the run form and chooses `model` alone with `l` on the model field.
fn choose_model(rt: &mut Runtime, app: &mut App, model: ModelKind) {
    key(rt, app, Key::Char('a'));
    key(rt, app, Key::Char('j'));
    let options = ModelChoice::options();
    for _ in 0..options.len() {
        if run_form(app).models == ModelChoice::One(model) {
            return;
        }
        key(rt, app, Key::Char('l'));
    }
    panic!("{model} is not offered");
}

#[test]
fn every_registered_model_is_offered_with_a_field_for_each_of_its_hyper_parameters() {
    let mut app = App::new(PathBuf::from("/r"), catalog());
    let key = |app: &mut App, k: Key| mf_tui::dashboard::update(app, Action::Key(k));
    key(&mut app, Key::Char('a'));
    key(&mut app, Key::Char('j'));
    let mut seen = Vec::new();
    for _ in 0..ModelChoice::options().len() {
        let form = run_form(&app);
        if let ModelChoice::One(m) = form.models {
            let names: Vec<&str> = form.params.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, m.model().param_names(), "{m}");
            assert_eq!(form.error, None, "{m}: {:?}", form.error);
            seen.push(m);
        }
        key(&mut app, Key::Char('l'));
    }
    assert_eq!(seen, ModelKind::table_order());
    for m in ModelKind::all() {
        assert!(seen.contains(m), "{m}");
    }
    // "Every model" queues every registered model.
    while run_form(&app).models != ModelChoice::Every {
        key(&mut app, Key::Char('l'));
    }
    key(&mut app, Key::Char('j'));
    key(&mut app, Key::Char('h'));
    let effects = key(&mut app, Key::Enter);
    let [Effect::StartRun { spec, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.models, ModelKind::table_order());
    // The Results view's sort steps through each of them.
    key(&mut app, Key::Char('3'));
    let mut sorted = Vec::new();
    for _ in 0..spec.models.len() + 2 {
        key(&mut app, Key::Char('s'));
        if let mf_tui::dashboard::SortKey::Model(m) = app.sort {
            sorted.push(m);
        }
    }
    assert_eq!(sorted, spec.models);
}

#[test]
fn hyper_parameters_set_in_the_form_reach_the_stored_jobs_and_change_their_scores() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rt, mut app) = runtime(dir.path());
    choose_model(&mut rt, &mut app, ModelKind::MfEsn);
    // The quick grid (h from the paper grid), one value of its dt axis, and device and sparsity values.
    key(&mut rt, &mut app, Key::Char('j'));
    key(&mut rt, &mut app, Key::Char('h'));
    set_run_field(&mut rt, &mut app, "dt", "0.1");
    set_run_field(&mut rt, &mut app, "n_units", "12");
    // Half the nominal kp0: twice it would put dt Kp above 1 at dt = 0.1, the states would leave [0, 1] and the
    // configuration would be flagged as diverged.
    set_run_field(&mut rt, &mut app, "kp0", "0.00005");
    set_run_field(&mut rt, &mut app, "density", "0.5");
    assert_eq!(run_form(&app).error, None);
    key(&mut rt, &mut app, Key::Enter);
    assert_eq!(app.popup, None, "{}", app.status);
    pump(&mut rt, &mut app, 120, |a| {
        a.runs
            .first()
            .is_some_and(|r| r.state == RunState::Finished)
    });
    let run = &app.runs[0];
    assert_eq!(run.tally(), (0, 0, 0, 2), "{:?}", run.jobs);
    let want: Params = [
        ("dt", 0.1),
        ("n_units", 12.0),
        ("kp0", 0.00005),
        ("density", 0.5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // The store on disk holds the values, for the validation and the final job.
    let store = read_store(
        &dir.path()
            .join("results")
            .join(run.spec.short_hash())
            .join("store.jsonl"),
    )
    .unwrap();
    assert_eq!(store.records.len(), 2);
    for r in store.records.values() {
        assert_eq!(r.params, want, "{}", r.key);
    }
    // The final job's scores are those of the configuration with these values, and not those without the
    // sparse kernel.
    let (key_final, record) = store
        .records
        .iter()
        .find(|(k, _)| k.stage == Stage::Final)
        .unwrap();
    let job = Job::final_of(
        &run.spec,
        &key_final.dataset,
        key_final.model,
        key_final.config,
    )
    .unwrap();
    assert_eq!(job.params, want);
    let evaluator = ModelEvaluator::new(dir.path().to_path_buf());
    let scores = |job: &Job| {
        evaluator
            .evaluate(job, &|_| {}, &CancelToken::new())
            .unwrap()
            .scores
    };
    let mf_lab::Outcome::Done { scores: stored, .. } = &record.outcome else {
        panic!("{:?}", record.outcome)
    };
    assert_eq!(&scores(&job), stored);
    let mut dense = job.clone();
    dense.params.remove("density");
    assert_ne!(&scores(&dense), stored, "density took no effect");
}

#[test]
fn a_value_the_model_refuses_shows_the_command_line_message_in_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rt, mut app) = runtime(dir.path());
    choose_model(&mut rt, &mut app, ModelKind::MfEsn);
    key(&mut rt, &mut app, Key::Char('j'));
    key(&mut rt, &mut app, Key::Char('h'));
    set_run_field(&mut rt, &mut app, "dt", "0.1");
    set_run_field(&mut rt, &mut app, "kp0", "-1");
    // What `mf run --model mf-esn --set kp0=-1` says.
    let cli = ModelKind::MfEsn
        .model()
        .configure(&[("kp0".to_string(), -1.0)].into_iter().collect())
        .unwrap_err()
        .to_string();
    assert_eq!(run_form(&app).error.as_deref(), Some(cli.as_str()));
    // Enter keeps the form open with the message; nothing is queued.
    key(&mut rt, &mut app, Key::Enter);
    assert!(app.runs.is_empty());
    assert_eq!(run_form(&app).error.as_deref(), Some(cli.as_str()));
    let f = frame(&app, 120, 40);
    let head: String = cli.chars().take(40).collect();
    assert!(f.contains(&head), "{f}");
    // A grid of two steps names the configuration that fails; a typo names the field.
    set_run_field(&mut rt, &mut app, "dt", "0.1, 0.01");
    let e = run_form(&app).error.clone().unwrap();
    assert!(
        e.starts_with("MF-ESN with dt = 0.1, kp0 = -1: ") && e.ends_with(&cli),
        "{e}"
    );
    set_run_field(&mut rt, &mut app, "kp0", "1e-4.5");
    let e = run_form(&app).error.clone().unwrap();
    assert_eq!(e, "kp0: `1e-4.5` is not a number");
}

fn curve_form(app: &App) -> &mf_tui::dashboard::CurveForm {
    match &app.popup {
        Some(Popup::CurveForm(f)) => f,
        other => panic!("the robustness form is not open: {other:?}"),
    }
}

/// Selects field `field` of the robustness form, clears it and types `text`.
fn set_curve_field(rt: &mut Runtime, app: &mut App, field: usize, text: &str) {
    while curve_form(app).field != field {
        key(rt, app, Key::Char('j'));
    }
    for _ in 0..40 {
        key(rt, app, Key::Backspace);
    }
    typed(rt, app, text);
}

fn curve_param_field(app: &App, name: &str) -> usize {
    CURVE_FIXED_FIELDS
        + curve_form(app)
            .params
            .iter()
            .position(|p| p.name == name)
            .unwrap()
}

#[test]
fn a_robustness_curve_runs_on_a_worker_thread_and_shows_the_means_of_its_draws() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rt, mut app) = runtime(dir.path());
    key(&mut rt, &mut app, Key::Char('6'));
    assert_eq!(app.tab, Tab::Robustness);
    key(&mut rt, &mut app, Key::Char('a'));
    assert_eq!(curve_form(&app).model_kind(), ModelKind::MfEsn);
    // h/l on the fourth field choose the hyper-parameter varied.
    while curve_form(&app).field != 3 {
        key(&mut rt, &mut app, Key::Char('j'));
    }
    for _ in 0..ModelKind::MfEsn.model().param_names().len() {
        if curve_form(&app).param_name() == "w_noise" {
            break;
        }
        key(&mut rt, &mut app, Key::Char('l'));
    }
    {
        let f = curve_form(&app);
        assert_eq!(f.param_name(), "w_noise");
        // Every other hyper-parameter of the model has a field.
        let names: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
        let others: Vec<&str> = ModelKind::MfEsn
            .model()
            .param_names()
            .iter()
            .copied()
            .filter(|n| *n != "w_noise")
            .collect();
        assert_eq!(names, others);
    }
    set_curve_field(&mut rt, &mut app, 4, "0, 0.3");
    set_curve_field(&mut rt, &mut app, 5, "2");
    set_curve_field(&mut rt, &mut app, 6, "7");
    let units = curve_param_field(&app, "n_units");
    set_curve_field(&mut rt, &mut app, units, "20");
    assert_eq!(curve_form(&app).error, None);
    key(&mut rt, &mut app, Key::Enter);
    assert_eq!(app.popup, None, "{}", app.status);
    pump(&mut rt, &mut app, 120, |a| {
        a.robustness.curves[0].state != CurveState::Running
    });
    let c = &app.robustness.curves[0];
    assert_eq!(c.state, CurveState::Done, "{:?}", c.state);
    let req = c.request.clone().unwrap();
    assert_eq!(
        req.set,
        [("n_units".to_string(), 20.0)].into_iter().collect()
    );
    assert_eq!(
        (req.draws, req.seed, req.values.clone()),
        (2, 7, vec![0.0, 0.3])
    );
    assert_eq!(c.levels.len(), 2);
    assert_eq!(c.points.len(), 4);
    // Each level is the mean and spread of `mf run --trials 2` with the value set, run here independently.
    for level in &c.levels {
        let report = run_trials_on_test(
            &req.point(ModelKind::MfEsn, level.value),
            2,
            dir.path(),
            &|_| {},
            &mut |_, _, _| {},
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!((level.mean, level.std), (report.mean, report.std));
        assert_eq!(level.n, 2);
    }
    // The chart and the table of levels show them.
    let f = frame(&app, 140, 40);
    for level in &c.levels {
        assert!(f.contains(&format!("{:.4}", level.mean)), "{f}");
    }
    assert!(f.contains("MF-ESN") && f.contains("w_noise"), "{f}");
    assert!(
        f.chars().any(|ch| ('\u{2801}'..='\u{28ff}').contains(&ch)),
        "no curve drawn:\n{f}"
    );
}

#[test]
fn a_running_curve_cancels_and_keeps_its_draws() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rt, mut app) = runtime(dir.path());
    key(&mut rt, &mut app, Key::Char('6'));
    key(&mut rt, &mut app, Key::Char('a'));
    set_curve_field(&mut rt, &mut app, 4, "0");
    set_curve_field(&mut rt, &mut app, 5, "10000");
    let units = curve_param_field(&app, "n_units");
    set_curve_field(&mut rt, &mut app, units, "10");
    key(&mut rt, &mut app, Key::Enter);
    pump(&mut rt, &mut app, 60, |a| {
        !a.robustness.curves[0].points.is_empty()
    });
    key(&mut rt, &mut app, Key::Char('c'));
    pump(&mut rt, &mut app, 30, |a| {
        a.robustness.curves[0].state == CurveState::Cancelled
    });
    let c = &app.robustness.curves[0];
    assert!(!c.points.is_empty() && c.points.len() < 10_000);
    assert_eq!(c.levels[0].n, c.points.len());
    assert_eq!(app.popup, None, "a cancel is not an error");
}

#[test]
fn a_curve_with_a_level_that_fails_keeps_the_others_and_shows_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rt, mut app) = runtime(dir.path());
    key(&mut rt, &mut app, Key::Char('6'));
    key(&mut rt, &mut app, Key::Char('a'));
    while curve_form(&app).field != 3 {
        key(&mut rt, &mut app, Key::Char('j'));
    }
    while curve_form(&app).param_name() != "d2d_sigma" {
        key(&mut rt, &mut app, Key::Char('l'));
    }
    // With seed 0 and 30 units, the third draw at a spread of 20% overflows; 10% scores.
    set_curve_field(&mut rt, &mut app, 4, "0.2, 0.1");
    set_curve_field(&mut rt, &mut app, 5, "4");
    set_curve_field(&mut rt, &mut app, 6, "0");
    let units = curve_param_field(&app, "n_units");
    set_curve_field(&mut rt, &mut app, units, "30");
    assert_eq!(curve_form(&app).error, None);
    key(&mut rt, &mut app, Key::Enter);
    pump(&mut rt, &mut app, 120, |a| {
        a.robustness.curves[0].state != CurveState::Running
    });
    let c = &app.robustness.curves[0];
    assert_eq!(c.state, CurveState::Done, "{:?}", c.state);
    assert_eq!(c.levels.len(), 1);
    assert_eq!((c.levels[0].value, c.levels[0].n), (0.1, 4));
    assert_eq!(
        c.points.len(),
        4,
        "the draws of the failed level are dropped"
    );
    assert_eq!(c.failed.len(), 1);
    assert_eq!(c.failed[0].value, 0.2);
    let Some(Popup::Error { messages, .. }) = &app.popup else {
        panic!("{:?}", app.popup)
    };
    assert!(
        messages[0]
            .contains("1 level failed and has no score: MF-ESN at d2d_sigma = 0.2 (trial 3/4"),
        "{messages:?}"
    );
    let req = c.request.clone().unwrap();
    key(&mut rt, &mut app, Key::Esc);
    let f = frame(&app, 140, 40);
    assert!(
        f.contains("4 draws, 1 level failed") && f.contains("failed"),
        "{f}"
    );
    // The files of the same curve open with the failed level.
    let out = mf_lab::robustness::run_robustness(
        &req,
        dir.path(),
        &|_, _| {},
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    let files = tmp_files(&out);
    for path in [
        files.path().to_path_buf(),
        files.path().join("robustness.csv"),
    ] {
        key(&mut rt, &mut app, Key::Char('o'));
        typed(&mut rt, &mut app, path.to_str().unwrap());
        key(&mut rt, &mut app, Key::Enter);
        assert_eq!(app.popup, None, "{}", app.status);
        let opened = app.robustness.current().unwrap();
        assert_eq!(opened.failed, out.failed);
        assert_eq!(opened.levels.len(), 1);
        assert!(app.status.contains("1 level failed"), "{}", app.status);
    }
}

/// A directory holding the CSV files of `r`.
fn tmp_files(r: &mf_lab::robustness::Robustness) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    r.write_csv(dir.path()).unwrap();
    dir
}

/// The means per (model, level) of a `robustness.csv`, computed here from its text.
fn means_of_draws(text: &str) -> Vec<(String, f64, f64)> {
    let mut sums: Vec<(String, f64, f64, usize)> = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (model, value, score): (String, f64, f64) = (
            f[2].to_string(),
            f[4].parse().unwrap(),
            f[7].parse().unwrap(),
        );
        match sums
            .iter_mut()
            .find(|(m, v, _, _)| *m == model && *v == value)
        {
            Some(s) => {
                s.2 += score;
                s.3 += 1;
            }
            None => sums.push((model, value, score, 1)),
        }
    }
    sums.into_iter()
        .map(|(m, v, s, n)| (m, v, s / n as f64))
        .collect()
}

#[test]
fn files_of_mf_robustness_open_as_curves_and_their_summary_matches_their_draws() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/robustness/ecg5000-w_noise");
    let draws = std::fs::read_to_string(dir.join("robustness.csv")).unwrap();
    let expected = means_of_draws(&draws);
    let tmp = tempfile::tempdir().unwrap();
    let (mut rt, mut app) = runtime(tmp.path());
    key(&mut rt, &mut app, Key::Char('6'));
    let mut open = |app: &mut App, path: &Path| {
        key(&mut rt, app, Key::Char('o'));
        typed(&mut rt, app, path.to_str().unwrap());
        key(&mut rt, app, Key::Enter);
    };
    // The directory (its summary) and the file of every draw give the same curve.
    open(&mut app, &dir);
    open(&mut app, &dir.join("robustness.csv"));
    assert_eq!(app.popup, None, "{}", app.status);
    let [summary, points] = &app.robustness.curves[..] else {
        panic!("{:?}", app.robustness.curves.len())
    };
    assert_eq!(summary.state, CurveState::Opened);
    assert_eq!(summary.levels.len(), expected.len());
    for (l, p) in summary.levels.iter().zip(&points.levels) {
        assert_eq!((&l.model, l.value, l.n), (&p.model, p.value, p.n));
        for (a, b) in [
            (l.mean, p.mean),
            (l.std, p.std),
            (l.min, p.min),
            (l.max, p.max),
        ] {
            assert!((a - b).abs() < 1e-12, "{l:?} {p:?}");
        }
    }
    for (l, (m, v, mean)) in summary.levels.iter().zip(&expected) {
        assert_eq!((&l.model, l.value), (m, *v));
        assert!((l.mean - mean).abs() < 1e-12, "{l:?} {mean}");
    }
    assert_eq!(summary.dataset, "ECG5000");
    // The levels of the shown curve (the last opened) are in the frame.
    let f = frame(&app, 140, 50);
    for (_, _, mean) in expected.iter().take(6) {
        assert!(f.contains(&format!("{mean:.4}")), "{mean}\n{f}");
    }
    // A file that is not one shows why, with its line and column.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, draws.replacen("0.9202222222222223", "0.92x", 1)).unwrap();
    open(&mut app, &bad);
    let Some(Popup::Error { messages, .. }) = &app.popup else {
        panic!("{:?}", app.popup)
    };
    assert!(
        messages[0].contains("bad.csv line 2, column `score`: `0.92x` is not a number"),
        "{messages:?}"
    );
    assert_eq!(app.robustness.curves.len(), 2);
}

#[test]
fn effects_of_the_robustness_view_reach_the_runtime() {
    // The form queues a curve as an effect; `c` cancels it.
    let mut app = App::new(PathBuf::from("/r"), catalog());
    mf_tui::dashboard::update(&mut app, Action::Key(Key::Char('6')));
    mf_tui::dashboard::update(&mut app, Action::Key(Key::Char('a')));
    let form = curve_form(&app).clone();
    let effects = mf_tui::dashboard::update(&mut app, Action::Key(Key::Enter));
    let [Effect::StartCurve { curve, request }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(request.models, [ModelKind::MfEsn]);
    assert_eq!(request.param, form.param_name());
    let shown = mf_tui::dashboard::parse_values(form.param_name(), &form.values).unwrap();
    assert!(!shown.is_empty());
    assert_eq!(request.values, shown);
    assert_eq!((request.draws, request.seed, request.preset), (5, 0, false));
    let effects = mf_tui::dashboard::update(&mut app, Action::Key(Key::Char('c')));
    assert_eq!(effects, vec![Effect::CancelCurve(*curve)]);
}

#[test]
fn the_results_view_has_a_column_for_every_model_of_the_sweep_and_the_paper_beside_its_own() {
    let mut app = App::new(PathBuf::from("/r"), catalog());
    let deep: ModelKind = "deep-mf-esn".parse().unwrap();
    let hybrid: ModelKind = "hybrid-mf-rnn".parse().unwrap();
    let spec = mf_lab::Spec::quick(
        vec!["synthetic-control".into()],
        vec![ModelKind::Esn, deep, hybrid],
    )
    .unwrap();
    app.enqueue("three".into(), spec, false);
    mf_tui::dashboard::update(&mut app, Action::Key(Key::Char('3')));
    let f = frame(&app, 140, 20);
    let header = f.lines().find(|l| l.contains("data set")).unwrap();
    for name in ["ESN", "Deep MF-ESN", "Hybrid MF-RNN"] {
        assert!(header.contains(name), "{header}");
    }
    // Only the paper's ESN has a published column.
    assert_eq!(header.matches("paper").count(), 1, "{header}");
}
