//! Drives the dashboard through a scenario with synthetic engine events and snapshots every frame.
//!
//! The state changes only through `update`, so the frames are deterministic; elapsed times and ETAs are
//! masked anyway so that a change of clock formatting does not hide behind them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mf_lab::{
    select, validation_jobs, Counts, Event, Job, JobKey, JobProgress, JobStep, Metric, ModelKind,
    Outcome, Record, RunSummary, SelectionState, Spec, Stage,
};
use mf_tui::dashboard::{
    update, view, Action, App, ClassExamples, DatasetSummary, Effect, Key, ReservoirTrace,
    StabilityAnalyzer, StabilityParams, StabilityPicture, Tab,
};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const W: u16 = 120;
const H: u16 = 30;

/// Replaces every `m:ss` / `h:mm:ss` clock with dashes.
fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == ':') {
                j += 1;
            }
            let token: String = chars[i..j].iter().collect();
            let groups: Vec<&str> = token.split(':').collect();
            let clock = groups.len() >= 2
                && groups[1..].iter().all(|g| g.len() == 2)
                && groups.iter().all(|g| !g.is_empty());
            if clock {
                out.push_str(&"-".repeat(token.len()));
            } else {
                out.push_str(&token);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn frame(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(W, H)).unwrap();
    terminal.draw(|f| view(app, f)).unwrap();
    let buf = terminal.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    mask(&s)
}

fn catalog() -> Vec<DatasetSummary> {
    let wave = |f: f64, a: f64| {
        (0..60)
            .map(|t| a * (f * t as f64).sin())
            .collect::<Vec<_>>()
    };
    vec![
        DatasetSummary {
            name: "SyntheticControl".into(),
            source: "embedded".into(),
            n_train: 300,
            n_test: 300,
            length: (60, 60),
            n_inputs: 1,
            n_classes: Some(6),
            examples: vec![
                ClassExamples {
                    label: "normal".into(),
                    series: vec![wave(0.3, 1.0), wave(0.31, 0.9)],
                },
                ClassExamples {
                    label: "cyclic".into(),
                    series: vec![(0..60).map(|t| t as f64 / 20.0).collect()],
                },
            ],
            error: None,
        },
        DatasetSummary {
            name: "FloodModeling1".into(),
            source: "/data/FloodModeling1".into(),
            n_train: 471,
            n_test: 202,
            length: (266, 266),
            n_inputs: 1,
            n_classes: None,
            examples: vec![],
            error: None,
        },
    ]
}

/// A closed-form stand-in for the analysis: centres spread over `[gamma - 3 dt, gamma - dt]`, eigenvalues on
/// small circles around them, verdicts from the same numbers.
#[derive(Debug)]
struct FakeStability;

impl StabilityAnalyzer for FakeStability {
    fn analyze(&self, p: &StabilityParams) -> Result<StabilityPicture, String> {
        let n = 12;
        let radius = p.dt * p.rho * p.s / 4.0;
        let centres: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                (
                    p.gamma - p.dt * (1.0 + 2.0 * i as f64 / (n - 1) as f64),
                    0.0,
                )
            })
            .collect();
        let eigenvalues: Vec<(f64, f64)> = centres
            .iter()
            .enumerate()
            .map(|(i, (c, _))| {
                let a = i as f64;
                (c + radius * a.cos(), radius * a.sin())
            })
            .collect();
        let bounds = (p.gamma - 3.0 * p.dt, p.gamma - p.dt);
        let sr = eigenvalues
            .iter()
            .map(|(a, b)| a.hypot(*b))
            .fold(0.0, f64::max);
        Ok(StabilityPicture {
            eigenvalues,
            centres,
            radius,
            v6_bounds: bounds,
            spectral_radius: sr,
            lemma_v1: p.dt * 5.0 + p.gamma <= 1.0,
            theorem_v3: bounds.0.abs().max(bounds.1) + radius < 1.0,
            theorem_v6: bounds.0 > -1.0 && bounds.1 < 1.0,
        })
    }
}

fn key(app: &mut App, k: Key) -> Vec<Effect> {
    update(app, Action::Key(k))
}

fn counts(total: usize, done: usize, failed: usize, running: usize) -> Counts {
    Counts {
        total,
        done,
        failed,
        running,
        skipped: 0,
        eta: Some(Duration::from_secs(75)),
    }
}

fn score(key: &JobKey, seed: u64) -> f64 {
    let base = if key.dataset.starts_with("Flood") {
        0.02
    } else {
        0.8
    };
    base + 0.01 * (key.config as f64) + 0.001 * (seed % 3) as f64
        - 0.005
            * (ModelKind::all()
                .iter()
                .position(|&m| m == key.model)
                .unwrap() as f64)
}

fn record(job: &Job) -> Record {
    let metric = if job.key.dataset.starts_with("Flood") {
        Metric::Rmse
    } else {
        Metric::Accuracy
    };
    let scores = job.seeds.iter().map(|s| score(&job.key, *s)).collect();
    let diverged = Vec::new();
    Record::new(
        job,
        Outcome::Done {
            metric,
            scores,
            diverged,
        },
        1.5,
    )
}

fn stability(app: &mut App, effects: Vec<Effect>) {
    for e in effects {
        if let Effect::ComputeStability(p) = e {
            let result = FakeStability.analyze(&p);
            assert!(update(app, Action::StabilityComputed { params: p, result }).is_empty());
        }
    }
}

#[test]
fn a_sweep_from_the_form_runs_fails_finishes_and_fills_table_iv() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    app.trace = Some(ReservoirTrace {
        title: "MF-ESN on SyntheticControl series 0".into(),
        units: (0..3)
            .map(|u| {
                (
                    format!("unit {u}"),
                    (0..60)
                        .map(|t| (0.2 * t as f64 + u as f64).sin() * 0.5)
                        .collect(),
                )
            })
            .collect(),
    });
    update(&mut app, Action::Restored(Vec::new()));
    insta::assert_snapshot!("01_empty_queue", frame(&app));

    // The form: every data set, every model, the quick grid.
    key(&mut app, Key::Char('a'));
    key(&mut app, Key::Char('h'));
    key(&mut app, Key::Char('j'));
    key(&mut app, Key::Char('j'));
    key(&mut app, Key::Char('l'));
    key(&mut app, Key::Char('l'));
    insta::assert_snapshot!("02_add_form", frame(&app));
    let effects = key(&mut app, Key::Enter);
    let [Effect::StartRun {
        run,
        spec,
        retry_failed: false,
    }] = effects.as_slice()
    else {
        panic!("expected one StartRun, got {effects:?}");
    };
    let (run, spec): (u64, Spec) = (*run, spec.clone());
    assert_eq!(spec.datasets, ["SyntheticControl", "FloodModeling1"]);
    assert_eq!(spec.models.len(), 4);

    // Two jobs start and report training progress.
    let jobs = validation_jobs(&spec);
    let total = jobs.len() + 8;
    let ev = |app: &mut App, event: Event| update(app, Action::Engine { run, event });
    update(
        &mut app,
        Action::StoreOpened {
            run,
            records: BTreeMap::new(),
        },
    );
    ev(&mut app, Event::Planned(counts(total, 0, 0, 0)));
    update(&mut app, Action::Tick(Duration::from_secs(3)));
    let rnn: Vec<&Job> = jobs
        .iter()
        .filter(|j| !j.key.model.is_reservoir())
        .collect();
    ev(
        &mut app,
        Event::Started {
            key: jobs[0].key.clone(),
            counts: counts(total, 0, 0, 1),
        },
    );
    ev(
        &mut app,
        Event::Started {
            key: rnn[0].key.clone(),
            counts: counts(total, 0, 0, 2),
        },
    );
    for epoch in 0..30 {
        let loss = 1.0 / (1.0 + epoch as f64 * 0.3);
        let val = 0.5 + 0.4 * (1.0 - loss);
        ev(
            &mut app,
            Event::Progress {
                key: rnn[0].key.clone(),
                progress: JobProgress {
                    fraction: epoch as f64 / 30.0,
                    step: JobStep::Epoch {
                        trial: 1,
                        epoch,
                        train_loss: loss,
                        val_loss: loss,
                        val_metric: val,
                    },
                },
            },
        );
    }
    update(&mut app, Action::Tick(Duration::from_secs(65)));
    insta::assert_snapshot!("03_queue_running", frame(&app));
    key(&mut app, Key::Char('2'));
    insta::assert_snapshot!("04_live_curves", frame(&app));

    // One finishes, the trainable one fails: the failure shows and the sweep goes on.
    ev(
        &mut app,
        Event::Finished {
            record: record(&jobs[0]),
            counts: counts(total, 1, 0, 1),
        },
    );
    ev(
        &mut app,
        Event::Failed {
            key: rnn[0].key.clone(),
            message: "diverged at step 12: loss is NaN".into(),
            counts: counts(total, 1, 1, 0),
        },
    );
    key(&mut app, Key::Char('1'));
    assert!(app.status.contains("diverged"), "{}", app.status);
    insta::assert_snapshot!("05_queue_failure", frame(&app));

    // Everything else finishes (the failed job's configuration is skipped by selection), then the finals.
    let mut records: BTreeMap<JobKey, Record> = BTreeMap::new();
    records.insert(jobs[0].key.clone(), record(&jobs[0]));
    let failed = Outcome::Failed {
        message: "diverged at step 12: loss is NaN".into(),
    };
    records.insert(rnn[0].key.clone(), Record::new(rnn[0], failed, 0.1));
    for j in &jobs[1..] {
        if j.key == rnn[0].key {
            continue;
        }
        let r = record(j);
        records.insert(j.key.clone(), r.clone());
        ev(
            &mut app,
            Event::Finished {
                record: r,
                counts: counts(total, 2, 1, 0),
            },
        );
    }
    for d in &spec.datasets {
        for &m in &spec.models {
            let SelectionState::Selected(s) = select(&spec, &records, d, m) else {
                panic!("{d} {m} must be selectable");
            };
            ev(
                &mut app,
                Event::Selected {
                    dataset: d.clone(),
                    model: m,
                    selection: s.clone(),
                },
            );
            let fin = Job::final_of(&spec, d, m, s.config).unwrap();
            assert_eq!(fin.key.stage, Stage::Final);
            ev(
                &mut app,
                Event::Finished {
                    record: record(&fin),
                    counts: counts(total, 3, 1, 0),
                },
            );
        }
    }
    let effects = update(
        &mut app,
        Action::RunEnded {
            run,
            result: Ok(RunSummary {
                counts: counts(total, total - 1, 1, 0),
                cancelled: false,
                interrupted: 0,
            }),
        },
    );
    assert!(effects.is_empty());
    insta::assert_snapshot!("06_queue_finished", frame(&app));

    key(&mut app, Key::Char('3'));
    insta::assert_snapshot!("07_results", frame(&app));
    key(&mut app, Key::Char('s'));
    key(&mut app, Key::Char('s'));
    insta::assert_snapshot!("08_results_sorted_by_esn", frame(&app));
    let effects = key(&mut app, Key::Char('m'));
    let [Effect::Export { path, contents }] = effects.as_slice() else {
        panic!("expected one Export, got {effects:?}");
    };
    assert_eq!(
        path,
        &PathBuf::from("/results")
            .join(spec.short_hash())
            .join("table-iv.md")
    );
    assert!(contents.contains("SyntheticControl") && contents.contains("0.950"));

    // Stability: the default configuration, then a smaller gamma moves every centre left.
    let effects = key(&mut app, Key::Char('4'));
    assert_eq!(
        effects,
        vec![Effect::ComputeStability(StabilityParams::default())]
    );
    stability(&mut app, effects);
    insta::assert_snapshot!("09_stability_default", frame(&app));
    key(&mut app, Key::Char('j'));
    let effects = key(&mut app, Key::Char('h'));
    let [Effect::ComputeStability(p)] = effects.as_slice() else {
        panic!("expected one ComputeStability, got {effects:?}");
    };
    assert!((p.gamma - 0.9).abs() < 1e-12);
    stability(&mut app, effects);
    key(&mut app, Key::Char('k'));
    for _ in 0..4 {
        let effects = key(&mut app, Key::Right);
        stability(&mut app, effects);
    }
    assert!((app.stability.params.dt - 0.5).abs() < 1e-12);
    insta::assert_snapshot!("10_stability_changed", frame(&app));

    key(&mut app, Key::Char('5'));
    insta::assert_snapshot!("11_data", frame(&app));
    key(&mut app, Key::Char('?'));
    insta::assert_snapshot!("12_help", frame(&app));
    key(&mut app, Key::Esc);
    assert_eq!(app.popup, None);
    assert_eq!(key(&mut app, Key::Char('q')), vec![Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn a_malformed_spec_shows_an_error_and_the_queue_carries_on() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    key(&mut app, Key::Char('o'));
    for c in "bad.toml".chars() {
        key(&mut app, Key::Char(c));
    }
    insta::assert_snapshot!("20_spec_path", frame(&app));
    let effects = key(&mut app, Key::Enter);
    assert_eq!(effects, vec![Effect::LoadSpec(PathBuf::from("bad.toml"))]);
    let err = Spec::from_toml("datasets = [\"A\"]\nbogus = 1\n").unwrap_err();
    update(&mut app, Action::SpecLoaded(Err(err.to_string())));
    assert!(app.status.starts_with("error"));
    insta::assert_snapshot!("21_spec_error", frame(&app));
    // The popup closes and the dashboard keeps working.
    key(&mut app, Key::Esc);
    key(&mut app, Key::Tab);
    assert_eq!(app.tab, Tab::Live);
}

#[test]
fn pause_and_cancel_reach_the_runtime_and_queued_sweeps_start_in_turn() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    let mut spec = Spec::new(vec!["SyntheticControl".into()]);
    spec.models = vec![mf_lab::ModelKind::Rnn];
    let first = app.enqueue("first".into(), spec.clone(), false);
    assert!(matches!(
        first.as_slice(),
        [Effect::StartRun { run: 1, .. }]
    ));
    // A second sweep waits for the first.
    assert!(app.enqueue("second".into(), spec, false).is_empty());
    assert_eq!(key(&mut app, Key::Char('p')), vec![Effect::Pause(1)]);
    assert_eq!(key(&mut app, Key::Char('p')), vec![Effect::Resume(1)]);
    assert_eq!(key(&mut app, Key::Char('c')), vec![Effect::Cancel(1)]);
    let next = update(
        &mut app,
        Action::RunEnded {
            run: 1,
            result: Ok(RunSummary {
                counts: Counts::default(),
                cancelled: true,
                interrupted: 0,
            }),
        },
    );
    assert!(matches!(next.as_slice(), [Effect::StartRun { run: 2, .. }]));
    // A run that cannot start (e.g. its store is locked) is reported, not fatal.
    update(
        &mut app,
        Action::RunEnded {
            run: 2,
            result: Err("store is in use".into()),
        },
    );
    assert!(app.status.contains("store is in use"));
}

#[test]
fn clocks_are_masked_but_other_numbers_are_not() {
    assert_eq!(
        mask("took 1:05 and 1:02:03, 0.950 ± 0.007, #12"),
        "took ---- and -------, 0.950 ± 0.007, #12"
    );
}

#[test]
fn a_job_whose_training_diverged_says_so_in_its_row() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    let mut spec = Spec::new(vec!["SyntheticControl".into()]);
    spec.models = vec![ModelKind::Rnn];
    let effects = app.enqueue("diverging".into(), spec.clone(), false);
    let [Effect::StartRun { run, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let run = *run;
    update(
        &mut app,
        Action::StoreOpened {
            run,
            records: BTreeMap::new(),
        },
    );
    let job = validation_jobs(&spec).remove(0);
    let mut rec = record(&job);
    if let Outcome::Done { diverged, .. } = &mut rec.outcome {
        diverged.push(0);
    }
    let event = Event::Finished {
        record: rec,
        counts: counts(1, 1, 0, 0),
    };
    update(&mut app, Action::Engine { run, event });
    let f = frame(&app);
    assert!(f.contains("diverged (trial 1)"), "{f}");
}

#[test]
fn jobs_are_listed_by_configuration_number_so_10_follows_9() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    let mut spec = Spec::new(vec!["SyntheticControl".into()]);
    spec.models = vec![ModelKind::Rnn];
    let lrs: Vec<f64> = (1..=12).map(|i| i as f64 / 1000.0).collect();
    spec.grid.insert(
        ModelKind::Rnn,
        mf_lab::Grid::new(vec![("lr".into(), lrs)]).unwrap(),
    );
    app.enqueue("twelve".into(), spec, false);
    let f = frame(&app);
    let configs: Vec<usize> = f
        .lines()
        .filter(|l| l.contains(" RNN "))
        .filter_map(|l| l.split('#').nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(configs, (0..12).collect::<Vec<_>>(), "{f}");
}

/// The frame without masking clocks.
fn raw_frame(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(W, H)).unwrap();
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

#[test]
fn the_default_form_shows_the_job_count_and_duration_before_queueing() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    key(&mut app, Key::Char('a'));
    assert!(key(&mut app, Key::Enter).is_empty());
    insta::assert_snapshot!("13_confirm_long_run", frame(&app));
    let effects = key(&mut app, Key::Char('y'));
    assert!(
        matches!(effects.as_slice(), [Effect::StartRun { .. }]),
        "{effects:?}"
    );
}

#[test]
fn the_data_view_lists_what_it_could_not_load_and_why() {
    let mut datasets = catalog();
    datasets.push(DatasetSummary {
        name: "Coffee".into(),
        source: "/data/Coffee".into(),
        error: Some(
            "/data/Coffee/Coffee_TRAIN.tsv line 1: `x` is not a number; every value after the label must be \
             a number (or NaN for a missing one)"
                .into(),
        ),
        ..DatasetSummary::default()
    });
    let mut app = App::new(PathBuf::from("/results"), datasets);
    key(&mut app, Key::Char('5'));
    key(&mut app, Key::Char('j'));
    key(&mut app, Key::Char('j'));
    insta::assert_snapshot!("14_data_unloadable", frame(&app));
}

const LONG_FAILURE: &str = "the configuration needs an estimated 48.2 GiB for its states (3601 series x 500 \
steps x 100 units x 8 bytes, for the fit and for the validation part), more than the 15.6 GiB available; \
lower n_units, shorten the series or run it on a machine with more memory (data set FordA, model MF-ESN, \
configuration #17: omega=1 beta=0.001 rho=0.9 gamma=0.95 s=5 dt=0.01)";

#[test]
fn enter_on_a_failed_job_opens_its_whole_message() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    let mut spec = Spec::new(vec!["SyntheticControl".into()]);
    spec.models = vec![ModelKind::Rnn];
    let effects = app.enqueue("x".into(), spec.clone(), false);
    let [Effect::StartRun { run, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let run = *run;
    let job = validation_jobs(&spec).remove(1);
    let event = Event::Failed {
        key: job.key.clone(),
        message: LONG_FAILURE.into(),
        counts: counts(2, 0, 1, 0),
    };
    update(&mut app, Action::Engine { run, event });
    // The row and the status line cut the message at the pane's width.
    let f = frame(&app);
    assert!(!f.contains("dt=0.01)"), "{f}");
    assert!(f.contains("(e: in full)"), "{f}");
    // The failed job is listed first and selected: Enter opens it whole.
    key(&mut app, Key::Enter);
    insta::assert_snapshot!("22_job_failure_in_full", frame(&app));
    key(&mut app, Key::Esc);
    assert_eq!(app.popup, None);
    // e opens it too, from the status line.
    key(&mut app, Key::Char('e'));
    let f = frame(&app);
    assert!(f.contains("dt=0.01)"), "{f}");
}

#[test]
fn the_elapsed_time_of_a_sweep_stops_while_it_is_paused() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    let mut spec = Spec::new(vec!["SyntheticControl".into()]);
    spec.models = vec![ModelKind::Rnn];
    app.enqueue("x".into(), spec, false);
    let sweep_row = |app: &App| {
        raw_frame(app)
            .lines()
            .find(|l| l.contains("#1 "))
            .unwrap()
            .to_string()
    };
    update(&mut app, Action::Tick(Duration::from_secs(10)));
    key(&mut app, Key::Char('p'));
    update(&mut app, Action::Tick(Duration::from_secs(70)));
    let row = sweep_row(&app);
    assert!(row.contains("paused") && row.contains(" 0:10 "), "{row}");
    key(&mut app, Key::Char('p'));
    update(&mut app, Action::Tick(Duration::from_secs(75)));
    let row = sweep_row(&app);
    assert!(row.contains("running") && row.contains(" 0:15 "), "{row}");
}

#[test]
fn a_long_error_scrolls_within_its_popup() {
    let mut app = App::new(PathBuf::from("/results"), catalog());
    update(&mut app, Action::Resize(W, H));
    let text: Vec<String> = (1..=40)
        .map(|i| format!("line {i} of the message"))
        .collect();
    update(&mut app, Action::Error(text.join("\n")));
    for _ in 0..3 {
        key(&mut app, Key::Char('j'));
    }
    insta::assert_snapshot!("23_long_error_scrolled", frame(&app));
    for _ in 0..100 {
        key(&mut app, Key::Char('j'));
    }
    assert!(frame(&app).contains("line 40 of the message"));
}

#[test]
fn the_form_of_one_model_shows_its_hyper_parameters_and_a_curve_grows_draw_by_draw() {
    use mf_lab::robustness::Point;
    use mf_tui::dashboard::{ModelChoice, Popup};
    let mut app = App::new(PathBuf::from("/results"), catalog());
    key(&mut app, Key::Char('a'));
    key(&mut app, Key::Char('j'));
    while !matches!(&app.popup, Some(Popup::Form(f)) if f.models == ModelChoice::One(ModelKind::MfEsn))
    {
        key(&mut app, Key::Char('l'));
    }
    // Down to the device's kp0 (past the preset and the seed), replaced by a value the model refuses.
    let Some(Popup::Form(f)) = &app.popup else {
        unreachable!()
    };
    let kp0 = f.params.iter().position(|p| p.name == "kp0").unwrap();
    let length = f.params[kp0].text.len();
    for _ in 0..kp0 + 3 {
        key(&mut app, Key::Char('j'));
    }
    for _ in 0..length {
        key(&mut app, Key::Backspace);
    }
    for c in "-1".chars() {
        key(&mut app, Key::Char(c));
    }
    insta::assert_snapshot!("15_form_one_model", frame(&app));
    key(&mut app, Key::Esc);

    // A curve of two levels and three draws each, scores 0.9 - level + 0.01 draw.
    key(&mut app, Key::Char('6'));
    key(&mut app, Key::Char('a'));
    for _ in 0..4 {
        key(&mut app, Key::Char('j'));
    }
    for _ in 0..40 {
        key(&mut app, Key::Backspace);
    }
    for c in "0, 0.4".chars() {
        key(&mut app, Key::Char(c));
    }
    key(&mut app, Key::Char('j'));
    key(&mut app, Key::Backspace);
    key(&mut app, Key::Char('3'));
    let effects = key(&mut app, Key::Enter);
    let [Effect::StartCurve { curve, request }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let (curve, request) = (*curve, request.clone());
    assert_eq!((request.values.clone(), request.draws), (vec![0.0, 0.4], 3));
    for &value in &request.values {
        for draw in 0..3 {
            let point = Point {
                model: "mf-esn".into(),
                param: request.param.clone(),
                value,
                draw,
                seed: draw as u64,
                score: 0.9 - value + 0.01 * draw as f64,
            };
            update(&mut app, Action::CurvePoint { curve, point });
        }
    }
    let c = &app.robustness.curves[0];
    assert!((c.fraction - 1.0).abs() < 1e-12);
    for (level, value) in c.levels.iter().zip([0.0, 0.4]) {
        // Draws x, x + 0.01, x + 0.02: mean x + 0.01, population std 0.01 sqrt(2/3).
        let x = 0.9 - value;
        assert!((level.mean - (x + 0.01)).abs() < 1e-12, "{level:?}");
        assert!(
            (level.std - 0.01 * (2.0_f64 / 3.0).sqrt()).abs() < 1e-12,
            "{level:?}"
        );
        assert_eq!((level.min, level.max, level.n), (x, x + 0.02, 3));
    }
    let f = frame(&app);
    assert!(f.contains("0.9100") && f.contains("0.5100"), "{f}");
    insta::assert_snapshot!("16_robustness_curve", f);
}

/// The Sequence view asks for its picture when first shown and again at every change, drops a picture of
/// settings no longer shown, and draws a forecast or a memory-capacity curve (computed for real here).
#[test]
fn the_sequence_view_draws_a_forecast_and_a_memory_curve() {
    use mf_tui::dashboard::{SequenceParams, SequencePicture};
    let mut app = App::new(PathBuf::from("/results"), catalog());
    let compute = |app: &mut App, effects: Vec<Effect>| {
        for e in effects {
            if let Effect::ComputeSequence(p) = e {
                let result = mf_tui::dashboard::compute_sequence(&p);
                assert!(update(app, Action::SequenceComputed { params: p, result }).is_empty());
            }
        }
    };
    let effects = key(&mut app, Key::Char('7'));
    assert_eq!(app.tab, Tab::Sequence);
    assert_eq!(
        effects,
        vec![Effect::ComputeSequence(SequenceParams::default())]
    );
    assert!(frame(&app).contains("computing..."));
    // Smaller, so that the test is quick: n_units 50.
    key(&mut app, Key::Char('j'));
    key(&mut app, Key::Char('j'));
    let stale = effects;
    let effects = key(&mut app, Key::Char('h'));
    assert_eq!(app.sequence.params.n_units, 50);
    compute(&mut app, stale);
    assert!(
        app.sequence.computing && app.sequence.picture.is_none(),
        "an older picture is dropped"
    );
    compute(&mut app, effects);
    assert!(matches!(
        app.sequence.picture,
        Some(Ok(SequencePicture::Forecast { .. }))
    ));
    // The frames are drawn from fixed pictures: a closed loop's last bits depend on the instruction set.
    let params = app.sequence.params;
    let wave = |k: usize, f: f64| (k as f64 * f).sin();
    let forecast = SequencePicture::Forecast {
        metric: "nrmse@84".into(),
        value: 0.25,
        truth: (0..84).map(|k| wave(k, 0.2)).collect(),
        generated: (0..84).map(|k| wave(k, 0.21) * 1.1).collect(),
    };
    update(
        &mut app,
        Action::SequenceComputed {
            params,
            result: Ok(forecast),
        },
    );
    insta::assert_snapshot!("25_sequence_forecast", frame(&app));
    key(&mut app, Key::Char('k'));
    key(&mut app, Key::Char('k'));
    key(&mut app, Key::Right);
    let effects = key(&mut app, Key::Right);
    compute(&mut app, effects);
    let Some(Ok(SequencePicture::Memory { total, units, .. })) = &app.sequence.picture else {
        panic!("a memory curve: {:?}", app.sequence.picture)
    };
    assert!(*total > 0.0 && *total <= *units as f64 && *units == 50);
    let curve: Vec<f64> = (0..100).map(|k| (-(k as f64) / 8.0).exp()).collect();
    let memory = SequencePicture::Memory {
        total: curve.iter().sum(),
        curve,
        units: 50,
    };
    let params = app.sequence.params;
    update(
        &mut app,
        Action::SequenceComputed {
            params,
            result: Ok(memory),
        },
    );
    insta::assert_snapshot!("26_sequence_memory", frame(&app));
}
