//! The runtime: owns the terminal, turns keys, ticks and background notifications into [`Action`]s, and
//! performs the [`Effect`]s that [`update`] returns. Sweeps run on worker threads through the engine's run
//! queue, robustness curves on a thread of their own through `mf_lab::robustness`; the interface never waits for
//! them.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;

use mf_lab::robustness::run_robustness;
use mf_lab::{open_spec_store, read_store, run, CancelToken, Control, Evaluator, RunOptions, Spec};

use super::action::{Action, Effect, Key, StoredSweep};
use super::app::{update, App};
use super::data::{DatasetSummary, Fig6Stability, ReservoirTrace, StabilityAnalyzer};
use super::robustness::{read_curve, CurveId};
use super::runs::RunId;
use super::tabs::sequence::compute as compute_sequence;
use super::view::view;

/// Everything the dashboard needs from its caller.
pub struct DashboardConfig {
    /// Where results are stored: `<results_dir>/<spec hash>/store.jsonl` (see [`mf_lab`]). Sweeps
    /// found there are shown at start-up and unfinished ones offered for resumption.
    pub results_dir: PathBuf,
    /// Trains and scores models for every job.
    pub evaluator: Arc<dyn Evaluator>,
    /// The data sets to offer (the embedded defaults when no data directory exists).
    pub datasets: Vec<DatasetSummary>,
    /// Reservoir state trajectories for the Live view, if any.
    pub trace: Option<ReservoirTrace>,
    /// Stability analysis for the Stability view; None shows a message there. Default: [`Fig6Stability`].
    pub stability: Option<Arc<dyn StabilityAnalyzer>>,
    /// Worker threads per sweep; 0 uses every core. Default 0.
    pub threads: usize,
    /// Spec files to queue when the dashboard opens. Default none.
    pub specs: Vec<PathBuf>,
    /// Where robustness curves read their data sets (as `mf robustness --data-dir`). Default: the directory
    /// `mf` resolves without `--data-dir` (`$MF_DATA_DIR`, else the user cache directory).
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for DashboardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardConfig")
            .field("results_dir", &self.results_dir)
            .field("datasets", &self.datasets.len())
            .field("trace", &self.trace.is_some())
            .field("stability", &self.stability.is_some())
            .field("threads", &self.threads)
            .field("specs", &self.specs)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl DashboardConfig {
    /// A configuration with no trace, the Fig. 6 stability analysis ([`Fig6Stability`]), every core, no spec to
    /// queue and the default data directory.
    pub fn new(
        results_dir: PathBuf,
        evaluator: Arc<dyn Evaluator>,
        datasets: Vec<DatasetSummary>,
    ) -> Self {
        DashboardConfig {
            results_dir,
            evaluator,
            datasets,
            trace: None,
            stability: Some(Arc::new(Fig6Stability::default())),
            threads: 0,
            specs: Vec::new(),
            data_dir: mf_lab::data::resolve_data_dir(None),
        }
    }
}

/// Performs effects; shared by the terminal loop and usable headless (tests drive it without a terminal).
pub struct Runtime {
    tx: Sender<Action>,
    rx: Receiver<Action>,
    evaluator: Arc<dyn Evaluator>,
    stability: Option<Arc<dyn StabilityAnalyzer>>,
    results_dir: PathBuf,
    threads: usize,
    controls: HashMap<RunId, Arc<Control>>,
    data_dir: PathBuf,
    curves: HashMap<CurveId, CancelToken>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("results_dir", &self.results_dir)
            .field("running", &self.controls.len())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime for `config` and the app it starts with (restored sweeps and queued spec files arrive as
    /// actions on the channel).
    pub fn new(config: DashboardConfig) -> (Runtime, App) {
        let (tx, rx) = channel();
        let mut app = App::new(config.results_dir.clone(), config.datasets);
        app.trace = config.trace;
        let rt = Runtime {
            tx,
            rx,
            evaluator: config.evaluator,
            stability: config.stability,
            results_dir: config.results_dir,
            threads: config.threads,
            controls: HashMap::new(),
            data_dir: config.data_dir,
            curves: HashMap::new(),
        };
        let _ = rt.tx.send(Action::Restored(scan_results(&rt.results_dir)));
        for path in config.specs {
            let _ = rt.tx.send(Action::SpecLoaded(load_spec(&path)));
        }
        (rt, app)
    }

    /// Applies `action` and performs the effects that follow. Returns false once the user quits.
    pub fn dispatch(&mut self, app: &mut App, action: Action) -> bool {
        let mut pending = vec![action];
        while let Some(a) = pending.pop() {
            for effect in update(app, a) {
                if let Some(next) = self.perform(effect) {
                    pending.push(next);
                }
            }
        }
        !app.quit
    }

    /// Applies every action waiting on the channel without blocking.
    pub fn drain(&mut self, app: &mut App) -> bool {
        while let Ok(a) = self.rx.try_recv() {
            if !self.dispatch(app, a) {
                return false;
            }
        }
        !app.quit
    }

    /// Waits up to `timeout` for one background action and applies it with the rest waiting.
    pub fn wait(&mut self, app: &mut App, timeout: Duration) -> bool {
        if let Ok(a) = self.rx.recv_timeout(timeout) {
            if !self.dispatch(app, a) {
                return false;
            }
        }
        self.drain(app)
    }

    /// Performs one effect; a synchronous result comes back as the next action.
    fn perform(&mut self, effect: Effect) -> Option<Action> {
        match effect {
            Effect::StartRun {
                run: id,
                spec,
                retry_failed,
            } => {
                let control = Arc::new(Control::new());
                self.controls.insert(id, control.clone());
                let tx = self.tx.clone();
                let evaluator = self.evaluator.clone();
                let dir = self.results_dir.clone();
                let opts = RunOptions {
                    threads: self.threads,
                    shard: None,
                    retry_failed,
                };
                std::thread::spawn(move || {
                    let body = AssertUnwindSafe(|| -> Result<_, String> {
                        let (mut store, _) =
                            open_spec_store(&dir, &spec, None).map_err(|e| e.to_string())?;
                        let _ = tx.send(Action::StoreOpened {
                            run: id,
                            records: store.records().clone(),
                        });
                        let ev_tx = tx.clone();
                        run(
                            &spec,
                            &mut store,
                            evaluator.as_ref(),
                            &opts,
                            &control,
                            &mut |event| {
                                let _ = ev_tx.send(Action::Engine { run: id, event });
                            },
                        )
                        .map_err(|e| e.to_string())
                    });
                    let result = std::panic::catch_unwind(body)
                        .unwrap_or_else(|_| Err("the run panicked".to_string()));
                    let _ = tx.send(Action::RunEnded { run: id, result });
                });
                None
            }
            Effect::Pause(id) => {
                if let Some(c) = self.controls.get(&id) {
                    c.pause();
                }
                None
            }
            Effect::Resume(id) => {
                if let Some(c) = self.controls.get(&id) {
                    c.resume();
                }
                None
            }
            Effect::Cancel(id) => {
                if let Some(c) = self.controls.get(&id) {
                    // A paused run must wake up to notice the cancellation.
                    c.cancel();
                    c.resume();
                }
                None
            }
            Effect::LoadSpec(path) => Some(Action::SpecLoaded(load_spec(&path))),
            Effect::Export { path, contents } => Some(Action::Exported(
                std::fs::write(&path, contents)
                    .map(|()| path.clone())
                    .map_err(|e| format!("{}: {e}", path.display())),
            )),
            Effect::ComputeStability(params) => {
                let result = match &self.stability {
                    Some(s) => s.analyze(&params),
                    None => Err("no stability analysis is available".into()),
                };
                Some(Action::StabilityComputed { params, result })
            }
            Effect::ComputeSequence(params) => {
                let tx = self.tx.clone();
                std::thread::spawn(move || {
                    let result =
                        std::panic::catch_unwind(AssertUnwindSafe(|| compute_sequence(&params)))
                            .unwrap_or_else(|_| Err("the computation panicked".to_string()));
                    let _ = tx.send(Action::SequenceComputed { params, result });
                });
                None
            }
            Effect::StartCurve { curve, request } => {
                let cancel = CancelToken::new();
                self.curves.insert(curve, cancel.clone());
                let tx = self.tx.clone();
                let dir = self.data_dir.clone();
                std::thread::spawn(move || {
                    let body = AssertUnwindSafe(|| {
                        let progress_tx = tx.clone();
                        run_robustness(
                            &request,
                            &dir,
                            &|point, progress| {
                                let _ = progress_tx.send(Action::CurveProgress {
                                    curve,
                                    point: point.clone(),
                                    progress,
                                });
                            },
                            &mut |point| {
                                let _ = tx.send(Action::CurvePoint {
                                    curve,
                                    point: point.clone(),
                                });
                            },
                            &cancel,
                        )
                        .map_err(|e| e.to_string())
                    });
                    let result = std::panic::catch_unwind(body)
                        .unwrap_or_else(|_| Err("the robustness run panicked".to_string()));
                    let _ = tx.send(Action::CurveEnded { curve, result });
                });
                None
            }
            Effect::CancelCurve(curve) => {
                if let Some(c) = self.curves.get(&curve) {
                    c.cancel();
                }
                None
            }
            Effect::LoadCurve(path) => {
                let result = read_curve(&path);
                Some(Action::CurveLoaded { path, result })
            }
            Effect::Quit => {
                // Stop starting jobs; the ones running finish on their threads and are stored.
                for c in self.controls.values() {
                    c.cancel();
                    c.resume();
                }
                for c in self.curves.values() {
                    c.cancel();
                }
                None
            }
        }
    }
}

fn load_spec(path: &Path) -> Result<Spec, String> {
    Spec::load(path).map_err(|e| e.to_string())
}

/// Every sweep stored under `results`: directories holding a `spec.toml` and a `store.jsonl`. Unreadable
/// ones are skipped.
pub fn scan_results(results: &Path) -> Vec<StoredSweep> {
    let Ok(dir) = std::fs::read_dir(results) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
    dirs.sort();
    dirs.into_iter()
        .filter_map(|d| {
            let spec = Spec::load(&d.join("spec.toml")).ok()?;
            let contents = read_store(&d.join("store.jsonl")).ok()?;
            (contents.spec_hash == spec.hash()).then_some(StoredSweep {
                spec,
                records: contents.records,
            })
        })
        .collect()
}

/// Converts a terminal key event; None for keys the dashboard does not use.
fn key_of(code: KeyCode, modifiers: KeyModifiers) -> Option<Key> {
    Some(match code {
        KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => Key::Char('q'),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), LeaveAlternateScreen);
}

/// Opens the dashboard in the terminal (raw mode, alternate screen) and runs it until the user quits.
///
/// Sweeps run on worker threads; the screen redraws at least ten times a second. The terminal is restored on
/// exit and on a panic of the interface thread. Panics of evaluators are caught by the engine and shown as
/// failed jobs, so they do not disturb the screen. Finished jobs are in the store when this returns; jobs
/// still running at exit finish on their threads only while the process lives.
pub fn run_dashboard(config: DashboardConfig) -> anyhow::Result<()> {
    let ui_thread = std::thread::current().id();
    let previous = Arc::new(std::panic::take_hook());
    let hook_previous = previous.clone();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            restore_terminal();
            hook_previous(info);
        }
        // Other threads' panics (evaluators) are caught and reported as failed jobs; printing them would
        // scribble over the screen.
    }));
    enable_raw_mode()?;
    execute!(std::io::stdout(), EnterAlternateScreen)?;
    let result = (|| -> anyhow::Result<()> {
        let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        event_loop(&mut terminal, config)
    })();
    restore_terminal();
    let _ = std::panic::take_hook();
    // The previous hook cannot be moved back out of the Arc while the closure lives; wrap it.
    std::panic::set_hook(Box::new(move |info| previous(info)));
    result
}

fn event_loop<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    config: DashboardConfig,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let start = Instant::now();
    let (mut rt, mut app) = Runtime::new(config);
    loop {
        if !rt.drain(&mut app) {
            break;
        }
        rt.dispatch(&mut app, Action::Tick(start.elapsed()));
        let size = terminal.size()?;
        if (size.width, size.height) != app.screen {
            rt.dispatch(&mut app, Action::Resize(size.width, size.height));
        }
        terminal.draw(|f| view(&app, f))?;
        // 100 ms keeps the screen at ten frames a second while workers report.
        if event::poll(Duration::from_millis(100))? {
            if let TermEvent::Key(k) = event::read()? {
                if k.kind != KeyEventKind::Release {
                    if let Some(key) = key_of(k.code, k.modifiers) {
                        if !rt.dispatch(&mut app, Action::Key(key)) {
                            break;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_quits_and_unused_keys_are_ignored() {
        assert_eq!(
            key_of(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Key::Char('q'))
        );
        assert_eq!(
            key_of(KeyCode::Char('c'), KeyModifiers::NONE),
            Some(Key::Char('c'))
        );
        assert_eq!(
            key_of(KeyCode::BackTab, KeyModifiers::SHIFT),
            Some(Key::BackTab)
        );
        assert_eq!(key_of(KeyCode::F(5), KeyModifiers::NONE), None);
    }

    #[test]
    fn scanning_a_missing_results_directory_finds_nothing() {
        assert!(scan_results(Path::new("/nonexistent/results/dir")).is_empty());
    }
}
