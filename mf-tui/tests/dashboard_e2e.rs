//! The real `mf` dashboard in a pseudo-terminal (tmux): open it with no data directory, queue a short sweep on
//! generated data from a spec file, wait for it to finish on screen, quit, and check the store holds the results.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "mf"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "mf"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    /// Waits until the screen satisfies `done`, failing with the last screen after `secs` seconds.
    fn wait(&self, secs: u64, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if done(&s) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

const SPEC: &str = r#"
datasets = ["synthetic-control"]
models = ["mf-esn", "esn"]
draws = 2
trials = 2
n_units = 40
[grid.mf-esn]
dt = [0.1, 0.01]
[grid.esn]
alpha = [0.5, 1.0]
"#;

fn job_lines(results: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(results).into_iter().flatten().flatten() {
        if let Ok(text) = std::fs::read_to_string(e.path().join("store.jsonl")) {
            n += text.lines().filter(|l| l.contains("\"job\"")).count();
        }
    }
    n
}

#[test]
fn the_dashboard_runs_a_queued_sweep_and_keeps_its_results() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipping: tmux is not installed (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let results = dir.path().join("results");
    let empty_data = dir.path().join("no-data");
    let command = format!(
        "{} --results {} --data-dir {} -j 2",
        env!("CARGO_BIN_EXE_mf"),
        results.display(),
        empty_data.display()
    );
    let t = Tmux {
        socket: format!("mf-e2e-{}", std::process::id()),
    };
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "mf",
        "-x",
        "140",
        "-y",
        "45",
        &command,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.wait(30, "the dashboard", |s| {
        s.contains("1 Queue") && s.contains("queue is empty")
    });
    // Queue the spec by its path.
    t.keys(&["o"]);
    t.wait(10, "the spec path prompt", |s| {
        s.to_lowercase().contains("spec")
    });
    t.keys(&["-l", spec.to_str().unwrap()]);
    t.keys(&["Enter"]);
    let screen = t.wait(120, "the sweep to finish", |s| s.contains("finished"));
    assert!(screen.contains("synthetic-control"), "{screen}");
    assert!(!screen.contains("failed  val"), "{screen}");
    // The Data view lists the generated sets.
    t.keys(&["5"]);
    t.wait(10, "the data view", |s| s.contains("narma10-windows"));
    t.keys(&["q"]);
    let start = Instant::now();
    while t.cmd(&["has-session", "-t", "mf"]).status.success() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mf did not quit:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // 2 + 2 validation jobs and one final job per model.
    assert_eq!(job_lines(&results), 6);
}
