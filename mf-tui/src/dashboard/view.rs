//! Drawing: a pure function of [`App`].

use std::time::Duration;

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Circle, Line as CanvasLine, Points};
use ratatui::widgets::{
    Axis, Block, Cell, Chart, Clear, Dataset, Gauge, GraphType, Paragraph, Row, Table, Tabs, Wrap,
};
use ratatui::Frame;

use super::app::App;
use super::estimate::approx;
use super::form::{Form, Preset};
use super::params::fmt_value;
use super::popup::Popup;
use super::robustness::{model_name, CurveEntry, CurveForm, CurveState};
use super::runs::{JobState, RunState};
use super::tabs::results::SortKey;
use super::tabs::sequence::SequencePicture;
use super::tabs::Tab;

const PALETTE: [Color; 6] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::Red,
    Color::Blue,
];

/// Every key, as the help popup lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("?", "show or hide this help"),
    ("q", "quit (stored results stay)"),
    ("e", "every error so far, in full"),
    ("Tab / Shift-Tab, 1-7", "switch view"),
    ("arrows / h j k l", "move"),
    ("[ ]", "previous / next sweep"),
    (
        "Queue: j k, Enter",
        "choose a job, open its failure in full",
    ),
    (
        "Queue: a",
        "add a run: data sets, models, preset, hyper-parameters",
    ),
    ("Queue: o", "add a sweep from a spec file path"),
    ("Queue: p", "pause / resume the selected sweep"),
    ("Queue: c", "cancel the sweep (or drop it from the queue)"),
    ("Queue: r", "re-run the sweep (resume, retrying failures)"),
    ("Results: s", "change the sort order"),
    ("Results: m v t", "export Markdown / CSV / LaTeX"),
    ("Stability: j k / h l", "choose a parameter / change it"),
    ("Data: j k", "choose a data set (unloadable ones say why)"),
    (
        "Robustness: a / o",
        "run a curve / open a CSV of mf robustness",
    ),
    (
        "Robustness: j k, c",
        "choose a curve, cancel it (or drop it from the queue)",
    ),
    (
        "Sequence: j k / h l",
        "choose a setting / change it (forecast or MC_k curve)",
    ),
    (
        "Forms: j k, h l",
        "choose a field, change a choice; values are typed",
    ),
    ("Esc / q", "close a popup (q types a q in a path)"),
    ("Enter", "confirm a form; j k scroll a long error"),
];

/// Draws the whole dashboard.
pub fn view(app: &App, frame: &mut Frame) {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let titles = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {}", i + 1, t.title()));
    frame.render_widget(
        Tabs::new(titles)
            .select(Tab::ALL.iter().position(|t| *t == app.tab))
            .highlight_style(Style::new().bold().reversed()),
        tabs,
    );
    match app.tab {
        Tab::Queue => queue(app, frame, body),
        Tab::Live => live(app, frame, body),
        Tab::Results => results(app, frame, body),
        Tab::Stability => stability(app, frame, body),
        Tab::Data => data(app, frame, body),
        Tab::Robustness => robustness(app, frame, body),
        Tab::Sequence => sequence(app, frame, body),
    }
    let style = if app.status.starts_with("error") {
        Style::new().fg(Color::Red)
    } else {
        Style::new()
    };
    frame.render_widget(
        Paragraph::new(status_line(app, status.width as usize)).style(style),
        status,
    );
    if let Some(p) = &app.popup {
        popup(app, p, frame, body);
    }
}

/// The status line: its first line, cut to `width`; an error cut short says that `e` shows it whole.
fn status_line(app: &App, width: usize) -> String {
    const HINT: &str = "... (e: in full)";
    let first = app.status.lines().next().unwrap_or_default();
    let is_error = app
        .errors
        .last()
        .is_some_and(|e| app.status.ends_with(e.as_str()));
    let cut = first.chars().count() > width || first.len() < app.status.len();
    if !is_error || !cut || width <= HINT.len() {
        return first.to_string();
    }
    let head: String = first.chars().take(width - HINT.len()).collect();
    format!("{head}{HINT}")
}

/// `m:ss`, or `h:mm:ss` past an hour.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn run_state_style(s: &RunState) -> Style {
    match s {
        RunState::Running => Style::new().fg(Color::Green),
        RunState::Paused => Style::new().fg(Color::Yellow),
        RunState::Failed(_) => Style::new().fg(Color::Red),
        RunState::Stored { complete: false } | RunState::Cancelled => {
            Style::new().fg(Color::Yellow)
        }
        _ => Style::new(),
    }
}

fn queue(app: &App, frame: &mut Frame, area: Rect) {
    let n = app.runs.len().clamp(1, 8) as u16;
    let [sweeps, jobs] =
        Layout::vertical([Constraint::Length(n + 3), Constraint::Min(0)]).areas(area);
    let rows = app.runs.iter().enumerate().map(|(i, r)| {
        let (running, failed, pending, done) = r.tally();
        let total = r.jobs.len().max(1);
        let elapsed = match (&r.state, r.elapsed(app.now)) {
            (s, Some(t)) if s == &RunState::Running || s == &RunState::Paused => clock(t),
            _ => "-".into(),
        };
        let eta = if r.state == RunState::Running {
            r.counts.eta.map_or("-".into(), clock)
        } else {
            "-".into()
        };
        let mut row = Row::new(vec![
            Cell::from(format!("#{}", r.id)),
            Cell::from(r.label.clone()),
            Cell::from(r.state.label()).style(run_state_style(&r.state)),
            Cell::from(format!("{:>3}%", (done + failed) * 100 / total)),
            Cell::from(format!("{running}/{pending}/{done}/{failed}")),
            Cell::from(elapsed),
            Cell::from(eta),
        ]);
        if i == app.selected {
            row = row.style(Style::new().reversed());
        }
        row
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(4),
            Constraint::Min(20),
            Constraint::Length(10),
            Constraint::Length(5),
            Constraint::Length(17),
            Constraint::Length(8),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new([
            "id",
            "sweep",
            "state",
            "done",
            "run/pend/ok/fail",
            "elapsed",
            "ETA",
        ])
        .bold(),
    )
    .block(Block::bordered().title(" Sweeps  (a add, o spec file, p pause, c cancel, r re-run) "));
    frame.render_widget(table, sweeps);

    let Some(run) = app.current() else {
        frame.render_widget(
            Paragraph::new("The queue is empty: press a to add a run or o to load a spec file.")
                .block(Block::bordered().title(" Jobs ")),
            jobs,
        );
        return;
    };
    let keys = run.job_order();
    let model_width = run
        .spec
        .models
        .iter()
        .map(|m| m.to_string().chars().count())
        .max()
        .unwrap_or(0)
        .max(6) as u16;
    let visible = jobs.height.saturating_sub(3).max(1) as usize;
    let sel = app.job_sel.min(keys.len().saturating_sub(1));
    // The window follows the selected job.
    let scroll = sel.saturating_sub(visible - 1);
    let rows = keys
        .iter()
        .enumerate()
        .skip(scroll)
        .take(visible)
        .map(|(i, (k, row))| {
            let (state, style) = match row.state {
                JobState::Running => ("running", Style::new().fg(Color::Green)),
                JobState::Failed => ("failed", Style::new().fg(Color::Red)),
                JobState::Pending => ("pending", Style::new().fg(Color::DarkGray)),
                JobState::Done => ("done", Style::new()),
            };
            let config = run
                .records
                .get(k)
                .map(|r| &r.params)
                .cloned()
                .or_else(|| run.spec.grid_for(k.model).config(k.config))
                .map(|p| {
                    p.iter()
                        .map(|(n, v)| format!("{n}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let elapsed = match (row.state, row.started, row.elapsed) {
                (JobState::Running, Some(t), _) => clock(app.now.saturating_sub(t)),
                (_, _, Some(e)) => clock(e),
                _ => "-".into(),
            };
            let progress = match row.state {
                JobState::Done => {
                    let score = row.score.map_or("done".into(), |s| format!("{s:.4}"));
                    if row.note.is_empty() {
                        score
                    } else {
                        format!("{score} {}", row.note)
                    }
                }
                JobState::Failed => row.note.clone(),
                JobState::Running => format!("{:>3.0}% {}", row.fraction * 100.0, row.note),
                JobState::Pending => String::new(),
            };
            let r = Row::new(vec![
                Cell::from(state).style(style),
                Cell::from(match k.stage {
                    mf_lab::Stage::Validation => "val",
                    mf_lab::Stage::Final => "final",
                }),
                Cell::from(k.dataset.clone()),
                Cell::from(k.model.to_string()),
                Cell::from(format!("#{} {config}", k.config)),
                Cell::from(progress),
                Cell::from(elapsed),
            ]);
            if i == sel {
                r.style(Style::new().reversed())
            } else {
                r
            }
        });
    let table = Table::new(
        rows,
        [
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Length(16),
            Constraint::Length(model_width),
            Constraint::Min(18),
            Constraint::Min(16),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new([
            "state",
            "stage",
            "data set",
            "model",
            "configuration",
            "progress",
            "elapsed",
        ])
        .bold(),
    )
    .block(Block::bordered().title(format!(
        " Jobs of #{} ({} of {}; j/k choose, Enter opens a failure) ",
        run.id,
        sel + 1,
        keys.len()
    )));
    frame.render_widget(table, jobs);
}

fn bounds(points: impl Iterator<Item = (f64, f64)>) -> ([f64; 2], [f64; 2]) {
    let mut x = [f64::INFINITY, f64::NEG_INFINITY];
    let mut y = [f64::INFINITY, f64::NEG_INFINITY];
    for (a, b) in points {
        x = [x[0].min(a), x[1].max(a)];
        y = [y[0].min(b), y[1].max(b)];
    }
    let fix = |r: [f64; 2]| {
        if !r[0].is_finite() {
            [0.0, 1.0]
        } else if r[1] - r[0] < 1e-12 {
            [r[0] - 0.5, r[1] + 0.5]
        } else {
            r
        }
    };
    (fix(x), fix(y))
}

fn labels(r: [f64; 2]) -> Vec<Line<'static>> {
    vec![
        Line::from(format!("{:.3}", r[0])),
        Line::from(format!("{:.3}", (r[0] + r[1]) / 2.0)),
        Line::from(format!("{:.3}", r[1])),
    ]
}

/// A line of a chart: its name and its points.
type NamedSeries = (String, Vec<(f64, f64)>);

fn chart<'a>(title: String, series: &'a [NamedSeries]) -> Chart<'a> {
    let (x, y) = bounds(series.iter().flat_map(|(_, p)| p.iter().copied()));
    let datasets = series
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| {
            Dataset::default()
                .name(name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(PALETTE[i % PALETTE.len()]))
                .data(pts)
        })
        .collect();
    Chart::new(datasets)
        .block(Block::bordered().title(title))
        .x_axis(Axis::default().bounds(x).labels(labels(x)))
        .y_axis(Axis::default().bounds(y).labels(labels(y)))
}

fn live(app: &App, frame: &mut Frame, area: Rect) {
    let [top, curves, trace] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Percentage(50),
        Constraint::Min(6),
    ])
    .areas(area);
    let Some(run) = app.current() else {
        frame.render_widget(
            Paragraph::new("No sweep yet.").block(Block::bordered().title(" Grid search ")),
            top,
        );
        trace_chart(app, frame, trace);
        return;
    };
    let (running, failed, pending, done) = run.tally();
    let total = (running + failed + pending + done).max(1);
    let best = run
        .best_validation()
        .map_or("best so far: -".to_string(), |(s, m, k)| {
            format!(
                "best so far: {s:.4} {} ({} {} #{})",
                m.title(),
                k.dataset,
                k.model,
                k.config
            )
        });
    let block = Block::bordered().title(format!(" Grid search of #{} {} ", run.id, run.label));
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let [gauge, text] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(
        Gauge::default()
            .ratio((done + failed) as f64 / total as f64)
            .label(format!("{}/{} jobs", done + failed, total))
            .gauge_style(Style::new().fg(Color::Green)),
        gauge,
    );
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(format!(
                "{running} running, {pending} pending, {done} done, {failed} failed"
            )),
            Line::from(best),
        ]),
        text,
    );
    let followed = run.follow.as_ref();
    let series: Vec<(String, Vec<(f64, f64)>)> = followed
        .and_then(|k| run.curves.get(k))
        .map(|c| {
            let mut v = Vec::new();
            if !c.loss.is_empty() {
                v.push(("loss".to_string(), c.loss.clone()));
            }
            if !c.val.is_empty() {
                v.push(("validation".to_string(), c.val.clone()));
            }
            v
        })
        .unwrap_or_default();
    let title = followed.map_or(" Training curves ".to_string(), |k| {
        format!(" Training curves of {k} ")
    });
    if series.is_empty() {
        frame.render_widget(
            Paragraph::new(
                "No curve yet: trainable models report loss= and val= in their progress.",
            )
            .block(Block::bordered().title(title)),
            curves,
        );
    } else {
        frame.render_widget(chart(title, &series), curves);
    }
    trace_chart(app, frame, trace);
}

fn trace_chart(app: &App, frame: &mut Frame, area: Rect) {
    match &app.trace {
        Some(t) if !t.units.is_empty() => {
            let series: Vec<(String, Vec<(f64, f64)>)> = t
                .units
                .iter()
                .map(|(n, v)| {
                    (
                        n.clone(),
                        v.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect(),
                    )
                })
                .collect();
            frame.render_widget(
                chart(format!(" Reservoir states: {} ", t.title), &series),
                area,
            );
        }
        _ => frame.render_widget(
            Paragraph::new("No reservoir trace provided.")
                .block(Block::bordered().title(" Reservoir states ")),
            area,
        ),
    }
}

fn results(app: &App, frame: &mut Frame, area: Rect) {
    let Some(run) = app.current() else {
        frame.render_widget(
            Paragraph::new("No results yet.").block(Block::bordered().title(" Table IV ")),
            area,
        );
        return;
    };
    let table = run.table();
    let mut rows: Vec<_> = table.rows.iter().collect();
    match app.sort {
        SortKey::Paper => {}
        SortKey::Name => rows.sort_by(|a, b| a.dataset.cmp(&b.dataset)),
        SortKey::Model(m) => rows.sort_by(|a, b| {
            let key = |r: &mf_lab::table::Row| {
                let higher = r.metric.is_none_or(|m| m.higher_is_better());
                r.cells
                    .iter()
                    .find(|c| c.model == m)
                    .and_then(|c| c.ours.as_ref())
                    .and_then(|o| o.summary.as_ref().ok())
                    .map(|s| if higher { -s.mean } else { s.mean })
                    .unwrap_or(f64::INFINITY)
            };
            key(a).total_cmp(&key(b))
        }),
    }
    // The paper's column beside each of its four models; the others have no published score.
    let has_paper: Vec<bool> = table
        .models
        .iter()
        .map(|m| m.model().paper().is_some())
        .collect();
    let mut header = vec![Cell::from("data set"), Cell::from(" ")];
    for (m, paper) in table.models.iter().zip(&has_paper) {
        header.push(Cell::from(format!("{m}")));
        if *paper {
            header.push(Cell::from("paper"));
        }
    }
    let body = rows.iter().map(|row| {
        let higher = row.metric.is_none_or(|m| m.higher_is_better());
        let ours: Vec<Option<(f64, f64)>> = row
            .cells
            .iter()
            .map(|c| {
                c.ours
                    .as_ref()
                    .and_then(|o| o.summary.as_ref().ok())
                    .map(|s| (s.mean, s.std))
            })
            .collect();
        let best =
            ours.iter()
                .flatten()
                .map(|(m, _)| *m)
                .reduce(|a, b| if (b > a) == higher { b } else { a });
        let mut cells = vec![
            Cell::from(row.dataset.clone()),
            Cell::from(row.metric.map_or(" ", |m| m.arrow())),
        ];
        for ((c, o), paper) in row.cells.iter().zip(&ours).zip(&has_paper) {
            let is_best = o.is_some() && o.map(|x| x.0) == best;
            let text = match (o, &c.ours) {
                // The star keeps the best visible without colour (and in plain-text snapshots).
                (Some((m, s)), _) => format!("{m:.3}±{s:.3}{}", if is_best { "*" } else { "" }),
                (None, Some(f)) => match &f.summary {
                    Err(e) => format!("failed: {e}"),
                    Ok(_) => "-".into(),
                },
                (None, None) => "-".into(),
            };
            let mut cell = Cell::from(text);
            if is_best {
                cell = cell.style(Style::new().fg(Color::Green).add_modifier(Modifier::BOLD));
            }
            cells.push(cell);
            if *paper {
                cells.push(
                    Cell::from(
                        c.paper
                            .map_or("-".into(), |p| format!("{:.3}±{:.3}", p.mean, p.std)),
                    )
                    .style(Style::new().fg(Color::DarkGray)),
                );
            }
        }
        Row::new(cells)
    });
    let mut widths = vec![Constraint::Length(16), Constraint::Length(1)];
    for (m, paper) in table.models.iter().zip(&has_paper) {
        widths.push(Constraint::Length(
            12.max(m.to_string().chars().count() as u16),
        ));
        if *paper {
            widths.push(Constraint::Length(11));
        }
    }
    frame.render_widget(
        Table::new(body, widths).header(Row::new(header).bold()).block(
            Block::bordered().title(format!(
                " Table IV of #{}: ours (best *) beside the paper, mean±std; sorted by {} (s), export m/v/t ",
                run.id,
                app.sort.label()
            )),
        ),
        area,
    );
}

/// A view's settings, one per line as `name value` (names padded to `width`), the one at `field` marked and
/// reversed.
fn setting_lines(settings: &[(&str, String)], field: usize, width: usize) -> Vec<Line<'static>> {
    settings
        .iter()
        .enumerate()
        .map(|(i, (n, v))| {
            let mark = if i == field { ">" } else { " " };
            let l = Line::from(format!("{mark} {n:<width$} {v}"));
            if i == field {
                l.reversed()
            } else {
                l
            }
        })
        .collect()
}

fn sequence(app: &App, frame: &mut Frame, area: Rect) {
    let [side, plot] = Layout::horizontal([Constraint::Length(34), Constraint::Min(0)]).areas(area);
    let st = &app.sequence;
    let p = st.params;
    let settings = [
        ("task", p.task.name().to_string()),
        ("model", p.model.to_string()),
        ("n_units", p.n_units.to_string()),
        ("lambda", format!("{:e}", p.lambda)),
        ("seed", p.seed.to_string()),
    ];
    let mut lines = setting_lines(&settings, st.field, 8);
    lines.push(Line::from(""));
    match &st.picture {
        _ if st.computing => lines.push(Line::from("computing...")),
        None => lines.push(Line::from("no picture yet")),
        Some(Err(e)) => lines.push(Line::from(format!("error: {e}")).red()),
        Some(Ok(SequencePicture::Forecast { metric, value, .. })) => {
            lines.push(Line::from(format!("{metric} {value:.4}")));
            lines.push(Line::from(format!(
                "over {} starts (test)",
                mf_lab::sequence::FORECAST_STARTS
            )));
        }
        Some(Ok(SequencePicture::Memory { total, units, .. })) => {
            lines.push(Line::from(format!("MC {total:.2} (bound N = {units})")));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from("j/k choose, h/l change"));
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Settings ")),
        side,
    );
    let (title, series): (String, Vec<NamedSeries>) = match &st.picture {
        Some(Ok(SequencePicture::Forecast {
            truth, generated, ..
        })) => {
            // A generation that runs away would flatten the signal: it is clipped to three spans of it.
            let (lo, hi) = truth
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let span = (hi - lo).max(1e-9);
            let pts = |v: &[f64], clip: bool| {
                v.iter()
                    .enumerate()
                    .map(|(k, &y)| {
                        let y = if clip {
                            y.clamp(lo - span, hi + span)
                        } else {
                            y
                        };
                        ((k + 1) as f64, y)
                    })
                    .collect::<Vec<_>>()
            };
            (
                format!(
                    " {}: true and generated in closed loop after the switch (first channel) ",
                    p.task.name()
                ),
                vec![
                    ("true".to_string(), pts(truth, false)),
                    ("generated".to_string(), pts(generated, true)),
                ],
            )
        }
        Some(Ok(SequencePicture::Memory { curve, .. })) => (
            " memory capacity MC_k against the delay k ".to_string(),
            vec![(
                "MC_k".to_string(),
                curve
                    .iter()
                    .enumerate()
                    .map(|(k, &m)| ((k + 1) as f64, m))
                    .collect(),
            )],
        ),
        _ => (" no picture ".to_string(), Vec::new()),
    };
    frame.render_widget(chart(title, &series), plot);
}

fn stability(app: &App, frame: &mut Frame, area: Rect) {
    let [side, plot] = Layout::horizontal([Constraint::Length(34), Constraint::Min(0)]).areas(area);
    let st = &app.stability;
    let p = st.params;
    let names = [
        ("dt", p.dt),
        ("gamma", p.gamma),
        ("s", p.s),
        ("rho (||W_h||)", p.rho),
    ];
    let names = names.map(|(n, v)| (n, v.to_string()));
    let mut lines = setting_lines(&names, st.field, 14);
    lines.push(Line::from(""));
    let verdict = |name: &str, ok: bool| {
        Line::from(vec![
            Span::raw(format!("{name:<12}")),
            if ok {
                Span::styled("holds", Style::new().fg(Color::Green))
            } else {
                Span::styled("fails", Style::new().fg(Color::Red))
            },
        ])
    };
    match &st.picture {
        _ if st.computing => lines.push(Line::from("computing...")),
        None => lines.push(Line::from("no picture yet")),
        Some(Err(e)) => lines.push(Line::from(format!("error: {e}")).red()),
        Some(Ok(pic)) => {
            lines.push(Line::from(format!(
                "spectral radius {:.4}",
                pic.spectral_radius
            )));
            lines.push(Line::from(format!(
                "V.6 bounds [{:.4}, {:.4}]",
                pic.v6_bounds.0, pic.v6_bounds.1
            )));
            lines.push(Line::from(format!("Bauer-Fike radius {:.4}", pic.radius)));
            lines.push(Line::from(""));
            lines.push(verdict("Lemma V.1", pic.lemma_v1));
            lines.push(verdict("Theorem V.3", pic.theorem_v3));
            lines.push(verdict("Theorem V.6", pic.theorem_v6));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from("j/k choose, h/l change"));
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Configuration ")),
        side,
    );
    let pic = match &st.picture {
        Some(Ok(pic)) => Some(pic),
        _ => None,
    };
    let extent = pic
        .map(|p| {
            p.eigenvalues
                .iter()
                .chain(&p.centres)
                .map(|(a, b)| a.abs().max(b.abs()))
                .chain([p.v6_bounds.0.abs(), p.v6_bounds.1.abs()])
                .fold(1.0_f64, f64::max)
        })
        .unwrap_or(1.0)
        * 1.15;
    // Terminal cells are about twice as tall as wide: widen the x range so the unit circle looks round.
    let aspect = (plot.width.max(1) as f64 / 2.0) / plot.height.max(1) as f64;
    let (xr, yr) = if aspect >= 1.0 {
        (extent * aspect, extent)
    } else {
        (extent, extent / aspect)
    };
    let canvas = Canvas::default()
        .block(
            Block::bordered()
                .title(" Jacobian eigenvalues (•), centres (x), unit circle, V.6 bounds (|) "),
        )
        .marker(Marker::Braille)
        .x_bounds([-xr, xr])
        .y_bounds([-yr, yr])
        .paint(move |ctx| {
            ctx.draw(&CanvasLine::new(-xr, 0.0, xr, 0.0, Color::DarkGray));
            ctx.draw(&CanvasLine::new(0.0, -yr, 0.0, yr, Color::DarkGray));
            ctx.draw(&Circle {
                x: 0.0,
                y: 0.0,
                radius: 1.0,
                color: Color::White,
            });
            if let Some(pic) = pic {
                for b in [pic.v6_bounds.0, pic.v6_bounds.1] {
                    ctx.draw(&CanvasLine::new(b, -yr * 0.5, b, yr * 0.5, Color::Yellow));
                }
                ctx.layer();
                ctx.draw(&Points {
                    coords: &pic.eigenvalues,
                    color: Color::Cyan,
                });
                for &(x, y) in &pic.centres {
                    ctx.print(x, y, Span::styled("x", Style::new().fg(Color::Magenta)));
                }
            }
        });
    frame.render_widget(canvas, plot);
}

fn data(app: &App, frame: &mut Frame, area: Rect) {
    let n = app.datasets.len() + app.unloadable.len();
    let [list, plot] =
        Layout::vertical([Constraint::Length(n as u16 + 3), Constraint::Min(0)]).areas(area);
    if n == 0 {
        frame.render_widget(
            Paragraph::new("No data set found.").block(Block::bordered().title(" Data sets ")),
            area,
        );
        return;
    }
    let loaded = app.datasets.iter().map(|d| {
        Row::new(vec![
            d.name.clone(),
            d.source.clone(),
            format!("{}/{}", d.n_train, d.n_test),
            if d.length.0 == d.length.1 {
                d.length.0.to_string()
            } else {
                format!("{}-{}", d.length.0, d.length.1)
            },
            d.n_inputs.to_string(),
            d.n_classes.map_or("regression".into(), |c| c.to_string()),
        ])
    });
    let unloadable = app.unloadable.iter().map(|d| {
        let reason = d.error.as_deref().unwrap_or_default();
        Row::new(vec![
            d.name.clone(),
            format!("not loaded: {}", reason.lines().next().unwrap_or_default()),
        ])
        .red()
    });
    let rows = loaded.chain(unloadable).enumerate().map(|(i, r)| {
        if i == app.dataset_sel {
            r.reversed()
        } else {
            r
        }
    });
    let title = if app.unloadable.is_empty() {
        " Data sets (j/k choose) ".to_string()
    } else {
        format!(
            " Data sets (j/k choose; {} could not be loaded) ",
            app.unloadable.len()
        )
    };
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(18),
                Constraint::Min(10),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(5),
                Constraint::Length(10),
            ],
        )
        .header(Row::new(["name", "source", "train/test", "length", "dims", "classes"]).bold())
        .block(Block::bordered().title(title)),
        list,
    );
    if let Some(d) = app
        .dataset_sel
        .checked_sub(app.datasets.len())
        .and_then(|i| app.unloadable.get(i))
    {
        let mut lines = vec![
            Line::from(format!("{} could not be loaded from {}:", d.name, d.source)),
            Line::from(""),
        ];
        lines.extend(
            d.error
                .as_deref()
                .unwrap_or_default()
                .lines()
                .map(|l| Line::from(l.to_string()).red()),
        );
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(format!(" {}: not loaded ", d.name))),
            plot,
        );
        return;
    }
    let Some(d) = app.datasets.get(app.dataset_sel) else {
        return;
    };
    let mut series = Vec::new();
    let mut colours = Vec::new();
    for (ci, class) in d.examples.iter().enumerate() {
        for (si, s) in class.series.iter().enumerate() {
            let name = if si == 0 {
                format!("class {}", class.label)
            } else {
                String::new()
            };
            series.push((
                name,
                s.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect(),
            ));
            colours.push(PALETTE[ci % PALETTE.len()]);
        }
    }
    let title = format!(" {}: a few series per class (first input) ", d.name);
    if series.is_empty() {
        frame.render_widget(
            Paragraph::new("No example series.").block(Block::bordered().title(title)),
            plot,
        );
        return;
    }
    let (x, y) = bounds(
        series
            .iter()
            .flat_map(|(_, p): &(String, Vec<(f64, f64)>)| p.iter().copied()),
    );
    let datasets = series
        .iter()
        .zip(&colours)
        .map(|((name, pts), c)| {
            let ds = Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(*c))
                .data(pts);
            if name.is_empty() {
                ds
            } else {
                ds.name(name.clone())
            }
        })
        .collect();
    frame.render_widget(
        Chart::new(datasets)
            .block(Block::bordered().title(title))
            .x_axis(Axis::default().bounds(x).labels(labels(x)))
            .y_axis(Axis::default().bounds(y).labels(labels(y))),
        plot,
    );
}

fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The error popup's width.
const ERROR_WIDTH: u16 = 90;

/// Wraps `text` to `width` columns: lines that fit stay as they are (so aligned carets in parse errors stay
/// aligned), longer ones break at the last space that fits, or mid-word when none does.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        loop {
            let Some((cut, _)) = rest.char_indices().nth(width) else {
                out.push(rest.to_string());
                break;
            };
            let brk = if rest[cut..].starts_with(' ') {
                cut
            } else {
                rest[..cut].rfind(' ').filter(|&i| i > 0).unwrap_or(cut)
            };
            out.push(rest[..brk].to_string());
            rest = rest[brk..].trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
        }
    }
    out
}

/// The rows of an error popup over `area`: its messages wrapped to the popup, a blank row between two.
/// Returns the rows and how many show at once.
fn error_rows(messages: &[String], area: Rect) -> (Vec<String>, usize) {
    let inner = ERROR_WIDTH.min(area.width).saturating_sub(2) as usize;
    let mut rows = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            rows.push(String::new());
        }
        let m = if messages.len() > 1 {
            format!("{}. {m}", i + 1)
        } else {
            m.clone()
        };
        rows.extend(wrap(&m, inner));
    }
    let visible = rows.len().min(area.height.saturating_sub(2) as usize);
    (rows, visible)
}

/// The area popups are drawn over on a `(width, height)` screen: below the tabs, above the status line.
fn body(screen: (u16, u16)) -> Rect {
    Rect::new(0, 1, screen.0, screen.1.saturating_sub(2))
}

/// How far an error popup of `messages` can scroll on a `screen`-sized terminal (its last row at the bottom).
pub(crate) fn error_scroll_max(messages: &[String], screen: (u16, u16)) -> usize {
    let (rows, visible) = error_rows(messages, body(screen));
    rows.len().saturating_sub(visible)
}

fn error_popup(messages: &[String], scroll: usize, frame: &mut Frame, area: Rect) {
    let (rows, visible) = error_rows(messages, area);
    let scroll = scroll.min(rows.len().saturating_sub(visible));
    let what = match messages.len() {
        1 => "Error".to_string(),
        n => format!("{n} errors"),
    };
    let title = if visible < rows.len() {
        format!(
            " {what}: rows {}-{} of {} (j/k scroll, Esc closes) ",
            scroll + 1,
            scroll + visible,
            rows.len()
        )
    } else {
        format!(" {what} (Esc closes) ")
    };
    let r = centred(area, ERROR_WIDTH, visible as u16 + 2);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(
            rows.into_iter()
                .skip(scroll)
                .take(visible)
                .map(|l| Line::from(l).red())
                .collect::<Vec<_>>(),
        )
        .block(Block::bordered().title(title)),
        r,
    );
}

fn popup(app: &App, p: &Popup, frame: &mut Frame, area: Rect) {
    let (title, lines, w): (&str, Vec<Line>, u16) = match p {
        Popup::Help => (
            " Keys (Esc closes) ",
            KEYS.iter()
                .map(|(k, d)| Line::from(vec![Span::raw(format!("{k:<22}")).bold(), Span::raw(*d)]))
                .collect(),
            78,
        ),
        Popup::Error { messages, scroll } => {
            error_popup(messages, *scroll, frame, area);
            return;
        }
        Popup::Confirm(c) => {
            let e = &c.estimate;
            (
                " A long run: queue it? ",
                vec![
                    Line::from(c.label.clone()).bold(),
                    Line::from(""),
                    Line::from(format!(
                        "{} jobs ({} validation, {} final)",
                        e.jobs(),
                        e.validation_jobs,
                        e.final_jobs
                    )),
                    Line::from(format!("estimated {} of work", approx(e.duration))),
                    Line::from(
                        "(rough: measured per model on a 2-core machine, scaled by the data's size)",
                    )
                    .dark_gray(),
                    Line::from(""),
                    Line::from("y / Enter queue it, n back to the form, Esc / q cancel"),
                ],
                80,
            )
        }
        Popup::SpecPath(path) => (
            " Spec file (Enter loads, Esc cancels) ",
            vec![Line::from(format!("{path}_"))],
            70,
        ),
        Popup::ResumeOffer(ids) => (
            " Unfinished sweeps ",
            vec![
                Line::from(format!(
                    "{} stored sweep(s) are unfinished: {}.",
                    ids.len(),
                    ids.iter()
                        .map(|i| format!("#{i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Line::from("Resume them now? y / n (Esc / q: not now)"),
            ],
            60,
        ),
        Popup::Form(f) => {
            run_form(app, f, frame, area);
            return;
        }
        Popup::CurveForm(f) => {
            curve_form(app, f, frame, area);
            return;
        }
        Popup::CurvePath(path) => (
            " A file or directory of mf robustness (Enter opens, Esc cancels) ",
            vec![Line::from(format!("{path}_"))],
            80,
        ),
    };
    // Long lines wrap: count the rows they take so the box fits them.
    let inner = w.min(area.width).saturating_sub(2).max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let r = centred(area, w, rows as u16 + 2);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .alignment(Alignment::Left)
            .block(Block::bordered().title(title)),
        r,
    );
}

/// One row of a form: its name, its value, and whether `h`/`l` choose the value (else it is typed).
struct FormRow {
    name: String,
    value: String,
    choice: bool,
}

impl FormRow {
    fn choice(name: &str, value: String) -> FormRow {
        FormRow {
            name: name.into(),
            value,
            choice: true,
        }
    }

    fn text(name: &str, value: &str) -> FormRow {
        FormRow {
            name: name.into(),
            value: value.into(),
            choice: false,
        }
    }
}

/// The form's width.
const FORM_WIDTH: u16 = 84;

/// Draws a form over `area`: a window of its rows that keeps `selected` in view, then its error in red and a hint.
fn form_popup(
    title: &str,
    rows: &[FormRow],
    selected: usize,
    error: Option<&str>,
    hint: &str,
    frame: &mut Frame,
    area: Rect,
) {
    let inner = FORM_WIDTH.min(area.width).saturating_sub(2) as usize;
    let error_rows = error.map(|e| wrap(e, inner)).unwrap_or_default();
    let hint_rows = wrap(hint, inner);
    let chrome = 3 + error_rows.len() + hint_rows.len();
    let visible = rows
        .len()
        .min((area.height as usize).saturating_sub(chrome).max(1));
    let scroll = selected
        .saturating_sub(visible.saturating_sub(1))
        .min(rows.len() - visible);
    let mut lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(scroll)
        .take(visible)
        .map(|(i, r)| {
            let here = i == selected;
            let value = match (r.choice, here, r.value.is_empty()) {
                (true, _, _) => format!("< {} >", r.value),
                (false, true, _) => format!("{}_", r.value),
                (false, false, true) => "(default)".into(),
                (false, false, false) => r.value.clone(),
            };
            let l = Line::from(format!("{:<15}{value}", r.name));
            if here {
                l.reversed()
            } else {
                l
            }
        })
        .collect();
    lines.push(Line::from(""));
    lines.extend(error_rows.into_iter().map(|e| Line::from(e).red()));
    lines.extend(hint_rows.into_iter().map(|h| Line::from(h).dark_gray()));
    let title = if visible < rows.len() {
        format!(" {title}: field {} of {} ", selected + 1, rows.len())
    } else {
        format!(" {title} ")
    };
    let r = centred(area, FORM_WIDTH, lines.len() as u16 + 2);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        r,
    );
}

fn run_form(app: &App, f: &Form, frame: &mut Frame, area: Rect) {
    let d = f
        .dataset
        .and_then(|i| app.datasets.get(i))
        .map_or("all data sets".to_string(), |d| d.name.clone());
    let presets = [Preset::PaperGrid, Preset::PaperPreset, Preset::Quick];
    let mut rows = vec![
        FormRow::choice("data set", d),
        FormRow::choice("model", f.models.label()),
        FormRow::choice("preset", presets[f.preset].label().to_string()),
        FormRow::text("seed", &f.seed),
    ];
    rows.extend(f.params.iter().map(|p| FormRow::text(&p.name, &p.text)));
    let hint = if f.params.is_empty() {
        "j/k field, h/l value, type the seed (one model shows its hyper-parameters), Enter queue, Esc / q \
         cancel"
    } else {
        "j/k field, h/l value; hyper-parameters: type values, commas for a grid axis, Backspace \
         deletes, empty = default; Enter queue, Esc / q cancel"
    };
    form_popup(
        "Add a run",
        &rows,
        f.field,
        f.error.as_deref(),
        hint,
        frame,
        area,
    );
}

fn curve_form(app: &App, f: &CurveForm, frame: &mut Frame, area: Rect) {
    let d = app
        .datasets
        .get(f.dataset)
        .map_or("(no data set)".to_string(), |d| d.name.clone());
    let mut rows = vec![
        FormRow::choice("model", f.model_kind().to_string()),
        FormRow::choice("data set", d),
        FormRow::choice(
            "start from",
            if f.preset {
                "the paper's selection".into()
            } else {
                "the model's defaults".into()
            },
        ),
        FormRow::choice("varied", f.param_name().to_string()),
        FormRow::text("levels", &f.values),
        FormRow::text("draws", &f.draws),
        FormRow::text("seed", &f.seed),
    ];
    rows.extend(f.params.iter().map(|p| FormRow::text(&p.name, &p.text)));
    form_popup(
        "A robustness curve",
        &rows,
        f.field,
        f.error.as_deref(),
        "j/k field, h/l choice, type values (levels: commas), Backspace deletes; Enter runs, Esc / q cancel",
        frame,
        area,
    );
}

/// A number for an axis label: up to four significant digits, without trailing zeros.
fn short_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return fmt_value(x);
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn curve_state_style(s: &CurveState) -> Style {
    match s {
        CurveState::Running => Style::new().fg(Color::Green),
        CurveState::Failed(_) => Style::new().fg(Color::Red),
        CurveState::Cancelled => Style::new().fg(Color::Yellow),
        _ => Style::new(),
    }
}

fn robustness(app: &App, frame: &mut Frame, area: Rect) {
    let rb = &app.robustness;
    let n = rb.curves.len().clamp(1, 6) as u16;
    let [list, body] =
        Layout::vertical([Constraint::Length(n + 3), Constraint::Min(0)]).areas(area);
    let title =
        " Robustness curves  (a run one, o open a CSV of mf robustness, c cancel, j/k choose) ";
    if rb.curves.is_empty() {
        frame.render_widget(
            Paragraph::new(
                "No curve yet: press a to run one (a model's test score against one hyper-parameter's \
                 levels, over draws) or o to open the files `mf robustness` writes.",
            )
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
            area,
        );
        return;
    }
    let visible = n as usize;
    let scroll = rb.selected.saturating_sub(visible - 1);
    let rows = rb
        .curves
        .iter()
        .enumerate()
        .skip(scroll)
        .take(visible)
        .map(|(i, c)| {
            let progress = match &c.state {
                CurveState::Running => format!("{:>3.0}% {}", c.fraction * 100.0, c.note),
                CurveState::Failed(e) => e.lines().next().unwrap_or_default().to_string(),
                CurveState::Queued => String::new(),
                _ => {
                    let draws = c.points.len().max(c.levels.iter().map(|l| l.n).sum());
                    match c.failed.len() {
                        0 => format!("{draws} draws"),
                        k => format!(
                            "{draws} draws, {k} level{} failed",
                            if k == 1 { "" } else { "s" }
                        ),
                    }
                }
            };
            let row = Row::new(vec![
                Cell::from(format!("#{}", c.id)),
                Cell::from(c.label.clone()),
                Cell::from(c.state.label()).style(curve_state_style(&c.state)),
                Cell::from(progress),
            ]);
            if i == rb.selected {
                row.style(Style::new().reversed())
            } else {
                row
            }
        });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(4),
                Constraint::Min(30),
                Constraint::Length(9),
                Constraint::Min(20),
            ],
        )
        .header(Row::new(["id", "curve", "state", "progress"]).bold())
        .block(Block::bordered().title(title)),
        list,
    );
    let Some(c) = rb.current() else {
        return;
    };
    let [plot, table] =
        Layout::horizontal([Constraint::Min(30), Constraint::Length(60)]).areas(body);
    curve_chart(c, frame, plot);
    levels_table(c, frame, table);
}

/// What a curve's score is, for titles.
fn metric_name(c: &CurveEntry) -> &'static str {
    c.metric.map_or("score", mf_lab::Metric::title)
}

/// A line of a chart: its legend (empty for none), colour and points.
type Series = (String, Color, Vec<(f64, f64)>);

/// Score against level: per model a line through the means (with a dot at each), and a bar from the lowest to
/// the highest draw at each level.
fn curve_chart(c: &CurveEntry, frame: &mut Frame, area: Rect) {
    let title = format!(
        " {}: {} vs {} (line: mean; bars: min-max) ",
        c.dataset,
        metric_name(c),
        c.param
    );
    if c.levels.is_empty() {
        frame.render_widget(
            Paragraph::new("No draw scored yet.").block(Block::bordered().title(title)),
            area,
        );
        return;
    }
    let (x, y) = bounds(
        c.levels
            .iter()
            .flat_map(|l| [(l.value, l.min), (l.value, l.max), (l.value, l.mean)]),
    );
    let y = [y[0] - 0.08 * (y[1] - y[0]), y[1] + 0.08 * (y[1] - y[0])];
    let mut series: Vec<Series> = Vec::new();
    for (k, model) in c.models().iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let mut levels: Vec<_> = c.levels.iter().filter(|l| &l.model == model).collect();
        levels.sort_by(|a, b| a.value.total_cmp(&b.value));
        let means: Vec<(f64, f64)> = levels.iter().map(|l| (l.value, l.mean)).collect();
        series.push((model_name(model), colour, means));
        for l in levels {
            series.push((
                String::new(),
                colour,
                vec![(l.value, l.min), (l.value, l.max)],
            ));
        }
    }
    let datasets = series
        .iter()
        .map(|(name, colour, pts)| {
            let d = Dataset::default()
                .style(Style::new().fg(*colour))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .data(pts);
            if name.is_empty() {
                d
            } else {
                d.name(name.clone())
            }
        })
        .collect();
    let x_labels = vec![
        Line::from(short_number(x[0])),
        Line::from(short_number((x[0] + x[1]) / 2.0)),
        Line::from(short_number(x[1])),
    ];
    frame.render_widget(
        Chart::new(datasets)
            .block(Block::bordered().title(title))
            .x_axis(
                Axis::default()
                    .title(c.param.clone())
                    .bounds(x)
                    .labels(x_labels),
            )
            .y_axis(Axis::default().bounds(y).labels(labels(y))),
        area,
    );
}

/// Every level of a curve: its draws, mean, population standard deviation, lowest and highest score; then the
/// levels that failed, which have none.
fn levels_table(c: &CurveEntry, frame: &mut Frame, area: Rect) {
    let rows = c.levels.iter().map(|l| {
        Row::new(vec![
            model_name(&l.model),
            fmt_value(l.value),
            l.n.to_string(),
            format!("{:.4}", l.mean),
            format!("{:.4}", l.std),
            format!("{:.4}", l.min),
            format!("{:.4}", l.max),
        ])
    });
    let failed = c.failed.iter().map(|f| {
        Row::new(vec![
            Cell::from(model_name(&f.model)),
            Cell::from(fmt_value(f.value)),
            Cell::from("0"),
            Cell::from("failed").style(Style::new().fg(Color::Red)),
        ])
    });
    let rows = rows.chain(failed);
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(13),
                Constraint::Length(8),
                Constraint::Length(3),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(7),
            ],
        )
        .header(Row::new(["model", c.param.as_str(), "n", "mean", "std", "min", "max"]).bold())
        .block(Block::bordered().title(format!(" Levels ({}) ", metric_name(c)))),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_lines_that_fit_and_breaks_long_ones_at_spaces() {
        assert_eq!(wrap("  | ^^^^^", 10), ["  | ^^^^^"]);
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 4), ["a", "", "b"]);
    }
}
