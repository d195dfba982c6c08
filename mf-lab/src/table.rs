//! Result tables in the layout of the paper: Table IV (test scores) and Tables V-VIII (selected
//! hyper-parameters), with the paper's numbers beside ours, as Markdown, CSV or LaTeX.
//!
//! Rows are the spec's data sets, those of the paper first in the paper's order, then the others as listed;
//! columns are ESN, MF-ESN, RNN, MF-RNN (those in the spec). Scores are `mean ± std` (population standard
//! deviation over trials) with 3 decimals; the best entry of a row is bold, comparing the values as printed so
//! that ties are all bold, as in the paper. The paper's own best is bold among the paper's columns.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;

use crate::job::JobKey;
use crate::job::Stage;
use crate::paper::{self, PaperScore};
use crate::protocol::{final_result, FinalResult};
use crate::spec::{Metric, ModelKind, Params, Spec};
use crate::store::{Outcome, Record};
use crate::LabError;

/// Output format of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GitHub-flavoured Markdown tables.
    Markdown,
    /// One CSV row per (data set, model), with means, standard deviations and parameters in their own columns.
    Csv,
    /// LaTeX `tabular` environments (booktabs rules).
    Latex,
}

impl FromStr for Format {
    type Err = LabError;
    /// `md`/`markdown`, `csv`, `tex`/`latex`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            "tex" | "latex" => Ok(Format::Latex),
            _ => Err(LabError::UnknownFormat(s.to_string())),
        }
    }
}

/// One (data set, model) entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The model.
    pub model: ModelKind,
    /// Our final result, if its final job has run.
    pub ours: Option<FinalResult>,
    /// The paper's Table IV entry, if the data set is one of the paper's.
    pub paper: Option<PaperScore>,
    /// The paper's selected hyper-parameters (Tables V-VIII).
    pub paper_params: Option<Params>,
    /// Trials of our final job whose training diverged (their scores mean nothing); 0 without a result.
    pub diverged: usize,
    /// Validation jobs (configurations) of this model on this data set stored as failed, and the grid's size:
    /// selection skipped the failed ones.
    pub failed_configs: (usize, usize),
}

/// One data set's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Data set name as written in the spec.
    pub dataset: String,
    /// The row's metric: ours if any result exists, else the paper's.
    pub metric: Option<Metric>,
    /// One cell per model, in Table IV column order.
    pub cells: Vec<Cell>,
}

impl Row {
    /// Whether the paper could have run its task: a series data set, not a sequence task.
    fn is_papers(&self) -> bool {
        crate::sequence::SequenceTask::from_name(&self.dataset).is_none()
    }
}

/// The results of a spec gathered from its records, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultTable {
    /// Models shown, in column order.
    pub models: Vec<ModelKind>,
    /// Grid axis names of each model, in grid order (the columns of its hyper-parameter table).
    pub axes: Vec<(ModelKind, Vec<String>)>,
    /// Rows in display order.
    pub rows: Vec<Row>,
}

impl ResultTable {
    /// Gathers the final results of `spec` from `records`.
    pub fn build(spec: &Spec, records: &BTreeMap<JobKey, Record>) -> ResultTable {
        let models: Vec<ModelKind> = ModelKind::table_order()
            .into_iter()
            .filter(|m| spec.models.contains(m))
            .collect();
        let mut datasets: Vec<&String> = spec.datasets.iter().collect();
        // Stable sort: the paper's data sets in its order, the others after them as listed.
        datasets.sort_by_key(|d| paper::row(d).unwrap_or(usize::MAX));
        let rows = datasets
            .into_iter()
            .map(|d| {
                let cells: Vec<Cell> = models
                    .iter()
                    .map(|&m| {
                        let ours = final_result(spec, records, d, m);
                        let diverged = ours.as_ref().map_or(0, |r| {
                            let key = JobKey {
                                stage: Stage::Final,
                                dataset: d.to_string(),
                                model: m,
                                config: r.config,
                            };
                            match records.get(&key).map(|r| &r.outcome) {
                                Some(Outcome::Done { diverged, .. }) => diverged.len(),
                                _ => 0,
                            }
                        });
                        let grid = spec.grid_for(m).len();
                        let failed = records
                            .iter()
                            .filter(|(k, r)| {
                                k.stage == Stage::Validation
                                    && k.dataset == *d
                                    && k.model == m
                                    && r.is_failed()
                            })
                            .count();
                        Cell {
                            model: m,
                            ours,
                            paper: paper::table_iv(d, m),
                            paper_params: paper::selected(d, m),
                            diverged,
                            failed_configs: (failed, grid),
                        }
                    })
                    .collect();
                let metric = cells
                    .iter()
                    .find_map(|c| {
                        c.ours
                            .as_ref()
                            .and_then(|r| r.summary.as_ref().ok())
                            .map(|s| s.metric)
                    })
                    .or_else(|| paper::metric(d));
                Row {
                    dataset: d.clone(),
                    metric,
                    cells,
                }
            })
            .collect();
        let axes = models
            .iter()
            .map(|&m| {
                (
                    m,
                    spec.grid_for(m)
                        .axes()
                        .iter()
                        .map(|(n, _)| n.clone())
                        .collect(),
                )
            })
            .collect();
        ResultTable { models, axes, rows }
    }

    /// Joins the tables of several specs into one, as when the reservoir models and the trainable models run as
    /// separate specs: the columns are every table's models in Table IV order, the rows every table's data sets
    /// (the paper's first, in its order). A model missing from a row gets an empty cell beside the paper's entry.
    /// A model in two tables is refused: which of the two results to show would be a guess.
    pub fn join(tables: Vec<ResultTable>) -> Result<ResultTable, LabError> {
        let mut models: Vec<ModelKind> = Vec::new();
        let mut axes = Vec::new();
        let mut datasets: Vec<String> = Vec::new();
        for t in &tables {
            for m in &t.models {
                if models.contains(m) {
                    return Err(LabError::InvalidSpec(format!(
                        "{m} is in two of the specs to show in one table: show one spec at a time, or \
                         drop {m} from all but one"
                    )));
                }
                models.push(*m);
            }
            axes.extend(t.axes.iter().cloned());
            for r in &t.rows {
                if !datasets.contains(&r.dataset) {
                    datasets.push(r.dataset.clone());
                }
            }
        }
        let order = ModelKind::table_order();
        let rank = |m: &ModelKind| order.iter().position(|o| o == m).unwrap_or(usize::MAX);
        models.sort_by_key(rank);
        axes.sort_by_key(|(m, _)| rank(m));
        datasets.sort_by_key(|d| paper::row(d).unwrap_or(usize::MAX));
        let rows = datasets
            .into_iter()
            .map(|d| {
                let found: Vec<&Row> = tables
                    .iter()
                    .filter_map(|t| t.rows.iter().find(|r| r.dataset == d))
                    .collect();
                let cells = models
                    .iter()
                    .map(|&m| {
                        found
                            .iter()
                            .flat_map(|r| &r.cells)
                            .find(|c| c.model == m)
                            .cloned()
                            .unwrap_or_else(|| Cell {
                                model: m,
                                ours: None,
                                paper: paper::table_iv(&d, m),
                                paper_params: paper::selected(&d, m),
                                diverged: 0,
                                failed_configs: (0, 0),
                            })
                    })
                    .collect();
                let metric = found
                    .iter()
                    .find_map(|r| r.metric)
                    .or_else(|| paper::metric(&d));
                Row {
                    dataset: d,
                    metric,
                    cells,
                }
            })
            .collect();
        Ok(ResultTable { models, axes, rows })
    }

    /// Renders Table IV followed by one hyper-parameter table per model (CSV: one long table with both).
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Csv => self.csv(),
            Format::Markdown | Format::Latex => {
                let mut s = self.table_iv(format);
                for &(m, _) in &self.axes {
                    s.push('\n');
                    s.push_str(&self.params_table(m, format));
                }
                s
            }
        }
    }

    /// Table IV alone, as Markdown or LaTeX (CSV gives [`ResultTable::render`]'s long table).
    pub fn table_iv(&self, format: Format) -> String {
        let mut header = vec!["Task".to_string()];
        // A model the paper did not run (`ModelKind::model().paper()` is none) has no paper column, and neither
        // has a table of sequence tasks alone, which the paper did not run either.
        let paper_tasks = self.rows.iter().any(Row::is_papers);
        let has_paper = |m: &ModelKind| paper_tasks && m.model().paper().is_some();
        for m in &self.models {
            header.push(m.to_string());
            if has_paper(m) {
                header.push(format!("{m} (paper)"));
            }
        }
        let mut body = Vec::new();
        for row in &self.rows {
            let ours_best = best(row.metric, row.cells.iter().map(ours_mean));
            let paper_best = best(
                row.metric,
                row.cells.iter().map(|c| c.paper.map(|p| p.mean)),
            );
            let mut line = vec![task_label(row, format)];
            for (i, c) in row.cells.iter().enumerate() {
                let ours = match &c.ours {
                    None => "–".to_string(),
                    Some(FinalResult {
                        summary: Err(_), ..
                    }) => "failed".to_string(),
                    Some(FinalResult { summary: Ok(s), .. }) if c.diverged > 0 => {
                        format!(
                            "{}{}",
                            pm(s.mean, s.std, format, row.metric),
                            dagger(format)
                        )
                    }
                    Some(FinalResult { summary: Ok(s), .. }) => {
                        pm(s.mean, s.std, format, row.metric)
                    }
                };
                let paper = c
                    .paper
                    .map_or("–".to_string(), |p| pm(p.mean, p.std, format, row.metric));
                line.push(bold_if(ours, ours_best.contains(&i), format));
                if has_paper(&c.model) {
                    line.push(bold_if(paper, paper_best.contains(&i), format));
                }
            }
            body.push(line);
        }
        let caption = if self.rows.iter().any(|r| {
            r.metric
                .is_some_and(|m| !matches!(m, Metric::Accuracy | Metric::Rmse))
        }) {
            "Test scores: mean ± std over the final trials (accuracy ↑, RMSE ↓; sequence tasks: NRMSE ↓, \
             memory capacity ↑, valid prediction time in Lyapunov times ↑); best per row in bold."
        } else {
            "Test scores: mean ± std over the final trials (accuracy ↑, RMSE ↓); best per row in bold."
        };
        let mut s = render_grid(&header, &body, format, caption);
        if self
            .rows
            .iter()
            .flat_map(|r| &r.cells)
            .any(|c| c.diverged > 0)
        {
            let note = "training diverged in at least one of the final trials (the training loss ended more \
                        than twice above both its start and a constant prediction's): the score means nothing; \
                        rerun with a smaller lr";
            let _ = match format {
                Format::Latex => writeln!(s, "% † {note}"),
                _ => writeln!(s, "\n† {note}"),
            };
        }
        let failures: Vec<String> = self
            .rows
            .iter()
            .flat_map(|r| r.cells.iter().map(move |c| (r, c)))
            .filter(|(_, c)| c.failed_configs.0 > 0)
            .map(|(r, c)| {
                format!(
                    "{} on {} {} of {}",
                    c.model, r.dataset, c.failed_configs.0, c.failed_configs.1
                )
            })
            .collect();
        if !failures.is_empty() {
            let note = format!(
                "configurations whose validation job failed (diverged or refused; selection skipped them): {}",
                failures.join("; ")
            );
            let _ = match format {
                Format::Latex => writeln!(s, "% {note}"),
                _ => writeln!(s, "\nFailed {note}."),
            };
        }
        s
    }

    /// The selected hyper-parameters of `model`, ours beside the paper's (Tables V-VIII), as Markdown or LaTeX.
    /// Cells read `ours / paper`.
    pub fn params_table(&self, model: ModelKind, format: Format) -> String {
        let Some(col) = self.models.iter().position(|&m| m == model) else {
            return String::new();
        };
        let axes = self
            .axes
            .iter()
            .find(|(m, _)| *m == model)
            .map(|(_, a)| a.clone())
            .unwrap_or_default();
        let mut header = vec!["Task".to_string()];
        header.extend(axes.iter().map(|a| match format {
            Format::Latex => latex_symbol(a),
            _ => paper::symbol(a).to_string(),
        }));
        // The paper ran none of the sequence tasks: their rows show ours alone.
        let any_paper = self.rows.iter().any(Row::is_papers);
        let mut body = Vec::new();
        for row in &self.rows {
            let cell = &row.cells[col];
            let mut line = vec![task_label(row, format)];
            for a in &axes {
                // A choice (integrator, frozen) reads as its spelling; numbers as the paper prints them.
                let value = |v: &f64| match crate::grid::choices(a) {
                    Some(_) => crate::grid::value_text(a, *v),
                    None => num(v),
                };
                let ours = cell
                    .ours
                    .as_ref()
                    .and_then(|r| r.params.get(a))
                    .map_or("–".into(), value);
                let theirs = cell
                    .paper_params
                    .as_ref()
                    .and_then(|p| p.get(a))
                    .map_or("–".into(), num);
                line.push(if row.is_papers() {
                    format!("{ours} / {theirs}")
                } else {
                    ours
                });
            }
            body.push(line);
        }
        let caption = if any_paper {
            format!("Selected hyper-parameters of {model} (ours / paper).")
        } else {
            format!("Selected hyper-parameters of {model}.")
        };
        render_grid(&header, &body, format, &caption)
    }

    fn csv(&self) -> String {
        // The writer quotes only the fields that need it (a comma, a quote or a line break), so ordinary tables
        // read as plain comma-separated text; rows end in `\n`.
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(CSV_HEADER).expect(CSV_IN_MEMORY);
        for row in &self.rows {
            let ours_best = best(row.metric, row.cells.iter().map(ours_mean));
            let paper_best = best(
                row.metric,
                row.cells.iter().map(|c| c.paper.map(|p| p.mean)),
            );
            for (i, c) in row.cells.iter().enumerate() {
                let (mean, std, n) = match c.ours.as_ref().map(|r| &r.summary) {
                    Some(Ok(s)) => (s.mean.to_string(), s.std.to_string(), s.n.to_string()),
                    Some(Err(_)) => ("failed".into(), String::new(), String::new()),
                    None => (String::new(), String::new(), String::new()),
                };
                let fields = [
                    row.dataset.clone(),
                    row.metric.map_or(String::new(), |m| m.to_string()),
                    c.model.to_string(),
                    mean,
                    std,
                    n,
                    ours_best.contains(&i).to_string(),
                    c.paper.map_or(String::new(), |p| p.mean.to_string()),
                    c.paper.map_or(String::new(), |p| p.std.to_string()),
                    paper_best.contains(&i).to_string(),
                    c.ours
                        .as_ref()
                        .map_or(String::new(), |r| r.config.to_string()),
                    c.ours
                        .as_ref()
                        .map_or(String::new(), |r| params_text(&r.params)),
                    c.paper_params.as_ref().map_or(String::new(), params_text),
                    match c.ours.as_ref().map(|r| &r.summary) {
                        Some(Ok(_)) => c.diverged.to_string(),
                        _ => String::new(),
                    },
                ];
                w.write_record(&fields).expect(CSV_IN_MEMORY);
            }
        }
        let bytes = w.into_inner().expect(CSV_IN_MEMORY);
        String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
    }
}

/// The columns of the CSV table, one row per (data set, model).
const CSV_HEADER: [&str; 14] = [
    "dataset",
    "metric",
    "model",
    "mean",
    "std",
    "trials",
    "best",
    "paper_mean",
    "paper_std",
    "paper_best",
    "config",
    "params",
    "paper_params",
    "diverged",
];

/// Every record has the header's 14 fields and the sink is a `Vec`, so the writer has nothing to fail on.
const CSV_IN_MEMORY: &str = "writing a CSV record of 14 fields to memory cannot fail";

fn ours_mean(c: &Cell) -> Option<f64> {
    c.ours
        .as_ref()
        .and_then(|r| r.summary.as_ref().ok())
        .map(|s| s.mean)
}

/// Indices of the best values as printed (3 decimals), all of them on a tie.
fn best(metric: Option<Metric>, values: impl Iterator<Item = Option<f64>>) -> Vec<usize> {
    let Some(metric) = metric else {
        return Vec::new();
    };
    let printed: Vec<Option<f64>> = values
        .map(|v| v.map(|x| format!("{x:.3}").parse::<f64>().unwrap_or(x)))
        .collect();
    let mut top: Option<f64> = None;
    for v in printed.iter().flatten() {
        if top.is_none_or(|t| metric.strictly_better(*v, t)) {
            top = Some(*v);
        }
    }
    printed
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_some() && **v == top)
        .map(|(i, _)| i)
        .collect()
}

/// The mark of a score whose training diverged in some trial.
fn dagger(format: Format) -> &'static str {
    match format {
        Format::Latex => "$^\\dagger$",
        _ => " †",
    }
}

/// `mean ± std` to three decimals; on a sequence task's NRMSE below 0.01 (Mackey-Glass one step ahead is
/// around 1e-4), to three significant digits, so that it does not print as zero.
fn pm(mean: f64, std: f64, format: Format, metric: Option<Metric>) -> String {
    let (mean, std) = if metric == Some(Metric::Nrmse) && mean.abs() < 0.01 {
        (format!("{mean:.2e}"), format!("{std:.2e}"))
    } else {
        (format!("{mean:.3}"), format!("{std:.3}"))
    };
    match format {
        Format::Latex => format!("{mean} $\\pm$ {std}"),
        _ => format!("{mean} ± {std}"),
    }
}

fn bold_if(s: String, bold: bool, format: Format) -> String {
    match (bold, format) {
        (false, _) => s,
        (true, Format::Latex) => format!("\\textbf{{{s}}}"),
        (true, _) => format!("**{s}**"),
    }
}

fn task_label(row: &Row, format: Format) -> String {
    let arrow = row.metric.map_or("", |m| m.arrow());
    match format {
        Format::Latex => {
            let arrow = match row.metric {
                Some(m) if m.higher_is_better() => " ($\\uparrow$)",
                Some(_) => " ($\\downarrow$)",
                None => "",
            };
            format!("{}{arrow}", latex_escape(&row.dataset))
        }
        _ if arrow.is_empty() => row.dataset.clone(),
        _ => format!("{} ({arrow})", row.dataset),
    }
}

fn num(v: &f64) -> String {
    format!("{v}")
}

fn params_text(p: &Params) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn latex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn latex_symbol(name: &str) -> String {
    match name {
        "omega" => "$\\omega$".into(),
        "beta" => "$\\beta$".into(),
        "rho" => "$\\rho$".into(),
        "gamma" => "$\\gamma$".into(),
        "alpha" => "$\\alpha$".into(),
        "dt" => "$\\Delta_t$".into(),
        other => latex_escape(other),
    }
}

fn render_grid(header: &[String], body: &[Vec<String>], format: Format, caption: &str) -> String {
    let mut s = String::new();
    match format {
        Format::Latex => {
            let _ = writeln!(s, "% {caption}");
            let _ = writeln!(s, "\\begin{{tabular}}{{l{}}}", "c".repeat(header.len() - 1));
            s.push_str("\\toprule\n");
            let _ = writeln!(
                s,
                "{} \\\\",
                header
                    .iter()
                    .map(|h| latex_escape_header(h))
                    .collect::<Vec<_>>()
                    .join(" & ")
            );
            s.push_str("\\midrule\n");
            for line in body {
                let _ = writeln!(s, "{} \\\\", line.join(" & "));
            }
            s.push_str("\\bottomrule\n\\end{tabular}\n");
        }
        Format::Markdown | Format::Csv => {
            let _ = writeln!(s, "{caption}\n");
            let _ = writeln!(s, "| {} |", header.join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(header.len()));
            for line in body {
                let _ = writeln!(s, "| {} |", line.join(" | "));
            }
        }
    }
    s
}

/// Header cells may already be LaTeX (`$\omega$`); only plain names are escaped.
fn latex_escape_header(h: &str) -> String {
    if h.starts_with('$') {
        h.to_string()
    } else {
        latex_escape(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{mean, pop_std};
    use crate::run::{run, Control, RunOptions};
    use crate::store::{Outcome, Store};
    use crate::testing::{small_spec, FakeEvaluator};
    use crate::Stage;

    /// A finished small sweep and its table.
    fn fixture() -> (Spec, BTreeMap<JobKey, Record>, ResultTable) {
        let spec = small_spec();
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(&dir.path().join("store.jsonl"), &spec.hash()).unwrap();
        run(
            &spec,
            &mut store,
            &FakeEvaluator::default(),
            &RunOptions::default(),
            &Control::new(),
            &mut |_| {},
        )
        .unwrap();
        let records = store.records().clone();
        let t = ResultTable::build(&spec, &records);
        (spec, records, t)
    }

    /// Mean and std of a final record, computed from its raw scores.
    fn expected(records: &BTreeMap<JobKey, Record>, dataset: &str, model: ModelKind) -> (f64, f64) {
        let r = records
            .values()
            .find(|r| {
                r.key.stage == Stage::Final && r.key.dataset == dataset && r.key.model == model
            })
            .unwrap();
        let Outcome::Done { scores, .. } = &r.outcome else {
            panic!("final failed")
        };
        (mean(scores), pop_std(scores))
    }

    #[test]
    fn rows_follow_the_papers_order_and_columns_table_iv() {
        let (_, _, t) = fixture();
        // The spec lists SyntheticControl first; the paper's order puts it before FloodModeling1 too.
        let names: Vec<&str> = t.rows.iter().map(|r| r.dataset.as_str()).collect();
        assert_eq!(names, ["SyntheticControl", "FloodModeling1"]);
        assert_eq!(t.models, ModelKind::TABLE_ORDER);
        let mut spec = small_spec();
        spec.datasets = vec![
            "FloodModeling1".into(),
            "Mine".into(),
            "JapaneseVowels".into(),
        ];
        let t = ResultTable::build(&spec, &BTreeMap::new());
        let names: Vec<&str> = t.rows.iter().map(|r| r.dataset.as_str()).collect();
        assert_eq!(names, ["JapaneseVowels", "FloodModeling1", "Mine"]);
    }

    #[test]
    fn markdown_shows_our_scores_the_papers_and_bolds_the_best() {
        let (_, records, t) = fixture();
        let md = t.render(Format::Markdown);
        let sc = md
            .lines()
            .find(|l| l.starts_with("| SyntheticControl"))
            .unwrap();
        let cells: Vec<&str> = sc.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 1 + 2 * 4);
        // Our best model by mean, as printed; all ties bold.
        let means: Vec<f64> = ModelKind::TABLE_ORDER
            .iter()
            .map(|&m| (expected(&records, "SyntheticControl", m).0 * 1000.0).round() / 1000.0)
            .collect();
        let top = means.iter().cloned().fold(f64::MIN, f64::max);
        for (i, &m) in ModelKind::TABLE_ORDER.iter().enumerate() {
            let (mu, sd) = expected(&records, "SyntheticControl", m);
            let text = format!("{mu:.3} ± {sd:.3}");
            let cell = cells[1 + 2 * i];
            assert_eq!(cell.trim_matches('*'), text, "{m}");
            assert_eq!(cell.starts_with("**"), means[i] == top, "{m}: {cell}");
        }
        // Paper columns: MF-ESN's 0.950 is the paper's best on SyntheticControl.
        assert_eq!(cells[4], "**0.950 ± 0.007**");
        assert_eq!(cells[2], "0.893 ± 0.010");
        // The regression row bolds the lowest paper RMSE.
        let fl = md
            .lines()
            .find(|l| l.starts_with("| FloodModeling1"))
            .unwrap();
        assert!(
            fl.contains("(↓)") && fl.contains("**0.008 ± 0.000**"),
            "{fl}"
        );
        // Hyper-parameter tables give ours beside the paper's.
        assert!(md.contains("Selected hyper-parameters of MF-ESN"));
        assert!(md.contains("| Task | ω | Δt |"));
    }

    #[test]
    fn csv_has_one_parsable_row_per_dataset_and_model() {
        let (spec, records, t) = fixture();
        let csv = t.render(Format::Csv);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + spec.datasets.len() * spec.models.len());
        let n_fields = lines[0].split(',').count();
        for l in &lines[1..] {
            // Parameters use `;` so no field needs quoting here.
            assert_eq!(l.split(',').count(), n_fields, "{l}");
        }
        let esn = lines
            .iter()
            .find(|l| l.starts_with("FloodModeling1,RMSE,ESN,"))
            .unwrap();
        let f: Vec<&str> = esn.split(',').collect();
        let (mu, sd) = expected(&records, "FloodModeling1", ModelKind::Esn);
        assert_eq!(f[3].parse::<f64>().unwrap(), mu);
        assert_eq!(f[4].parse::<f64>().unwrap(), sd);
        assert_eq!(f[5], spec.trials.to_string());
        assert_eq!((f[7], f[8]), ("0.019", "0"));
        assert!(f[11].starts_with("alpha="));
        assert_eq!(f[12], "alpha=0.1;beta=0.1;omega=1;rho=0.99");
        assert_eq!(f[13], "0");
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines_and_reads_back_unchanged() {
        let name = "a,\"b\"\nc";
        let mut spec = small_spec();
        spec.datasets = vec![name.into(), "plain".into()];
        let csv = ResultTable::build(&spec, &BTreeMap::new()).render(Format::Csv);
        // Quoted as the hand-written writer before it did: the whole field in quotes, inner quotes doubled.
        assert!(
            csv.contains("\n\"a,\"\"b\"\"\nc\",,ESN,,,,false,,,false,,,,\n"),
            "{csv}"
        );
        assert!(csv.contains("\nplain,,ESN,,,,false,,,false,,,,\n"), "{csv}");
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(r.headers().unwrap(), &CSV_HEADER[..]);
        let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2 * spec.models.len());
        let names: Vec<&str> = records.iter().map(|rec| &rec[0]).collect();
        assert_eq!(names[..4], [name; 4]);
        assert_eq!(names[4..], ["plain"; 4]);
        let models: Vec<&str> = records[..4].iter().map(|rec| &rec[2]).collect();
        assert_eq!(models, ["ESN", "MF-ESN", "RNN", "MF-RNN"]);
        assert!(records.iter().all(|rec| rec.len() == CSV_HEADER.len()));
    }

    #[test]
    fn latex_is_a_booktabs_tabular_with_bold_and_escaped_names() {
        let (_, _, t) = fixture();
        let tex = t.render(Format::Latex);
        assert_eq!(tex.matches("\\begin{tabular}").count(), 1 + 4);
        assert_eq!(tex.matches("\\end{tabular}").count(), 1 + 4);
        assert!(tex.contains("\\textbf{0.950 $\\pm$ 0.007}"));
        assert!(tex.contains("SyntheticControl ($\\uparrow$)"));
        assert!(tex.contains("$\\omega$ & $\\Delta_t$"));
        // Every body row of Table IV has 9 cells.
        let first = tex.split("\\end{tabular}").next().unwrap();
        for l in first.lines().filter(|l| l.ends_with("\\\\")) {
            assert_eq!(l.matches(" & ").count(), 8, "{l}");
        }
        assert_eq!(latex_escape("a_b%"), "a\\_b\\%");
    }

    #[test]
    fn missing_and_failed_results_are_marked() {
        let spec = small_spec();
        let t = ResultTable::build(&spec, &BTreeMap::new());
        let md = t.table_iv(Format::Markdown);
        assert!(
            md.contains("| SyntheticControl (↑) | – | 0.893 ± 0.010 |"),
            "{md}"
        );
        assert_eq!("latex".parse::<Format>().unwrap(), Format::Latex);
        assert!("xls".parse::<Format>().is_err());
    }

    #[test]
    fn an_unknown_format_is_named_as_such_not_as_a_spec_error() {
        let e = "html".parse::<Format>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown table format `html` (expected markdown, csv or latex)"
        );
    }

    #[test]
    fn failed_configurations_are_counted_per_model_and_data_set() {
        let (spec, mut records, t) = fixture();
        assert!(!t
            .table_iv(Format::Markdown)
            .contains("Failed configurations"));
        let key = records
            .keys()
            .find(|k| {
                k.stage == Stage::Validation
                    && k.dataset == "SyntheticControl"
                    && k.model == ModelKind::MfRnn
            })
            .unwrap()
            .clone();
        records.get_mut(&key).unwrap().outcome = Outcome::Failed {
            message: "non-finite training loss".into(),
        };
        let t = ResultTable::build(&spec, &records);
        let grid = spec.grid_for(ModelKind::MfRnn).len();
        let md = t.table_iv(Format::Markdown);
        assert!(
            md.contains(&format!("MF-RNN on SyntheticControl 1 of {grid}")),
            "{md}"
        );
        let cell = t
            .rows
            .iter()
            .find(|r| r.dataset == "SyntheticControl")
            .unwrap();
        let total: usize = cell.cells.iter().map(|c| c.failed_configs.0).sum();
        assert_eq!(total, 1);
    }

    #[test]
    fn scores_of_diverged_trainings_are_marked_with_a_footnote() {
        let (spec, mut records, t) = fixture();
        assert!(!t.table_iv(Format::Markdown).contains('†'));
        let key = records
            .keys()
            .find(|k| {
                k.stage == Stage::Final
                    && k.dataset == "SyntheticControl"
                    && k.model == ModelKind::MfRnn
            })
            .unwrap()
            .clone();
        let r = records.get_mut(&key).unwrap();
        let Outcome::Done { diverged, .. } = &mut r.outcome else {
            panic!("final failed")
        };
        *diverged = vec![0];
        let t = ResultTable::build(&spec, &records);
        let md = t.table_iv(Format::Markdown);
        let row = md
            .lines()
            .find(|l| l.starts_with("| SyntheticControl"))
            .unwrap();
        let (mu, sd) = expected(&records, "SyntheticControl", ModelKind::MfRnn);
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(
            cells[7].trim_matches('*'),
            format!("{mu:.3} ± {sd:.3} †"),
            "{row}"
        );
        assert_eq!(md.matches('†').count(), 2, "{md}");
        assert!(
            md.trim_end()
                .ends_with("the score means nothing; rerun with a smaller lr"),
            "{md}"
        );
        let tex = t.table_iv(Format::Latex);
        assert!(
            tex.contains("$^\\dagger$") && tex.contains("% † training diverged"),
            "{tex}"
        );
        let csv = t.render(Format::Csv);
        let line = csv
            .lines()
            .find(|l| l.starts_with("SyntheticControl,acc,MF-RNN,"))
            .unwrap();
        assert!(line.ends_with(",1"), "{line}");
    }
}
