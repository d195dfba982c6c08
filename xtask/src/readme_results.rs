//! The README's result tables come from committed results: a test regenerates each row from the files in
//! `results/` and looks for it in the README.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    fn report(dataset: &str, seed: u64) -> serde_json::Value {
        let p = root().join(format!(
            "results/mf-rnn-reference/mfrnn_{dataset}_{seed}.json"
        ));
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
    }

    /// The first Markdown table of `text`: its consecutive lines starting with `|`.
    fn first_table(text: &str) -> String {
        text.lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn the_readme_table_iv_is_the_committed_full_grid_table_with_its_provenance() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let committed = std::fs::read_to_string(root().join("results/table4.md")).unwrap();
        // One provenance paragraph per spec: the reservoir models' and the trainable models'.
        for models in ["esn, mf-esn", "rnn, mf-rnn"] {
            assert!(
                committed.contains(&format!("Provenance of the {models} columns.  \nSpec ")),
                "results/table4.md must hold the provenance `mf table` writes for the {models} spec"
            );
        }
        let table = first_table(&committed);
        assert!(table.lines().count() >= 11, "{table}");
        for model in ["ESN", "MF-ESN", "RNN", "MF-RNN"] {
            assert!(
                table
                    .lines()
                    .next()
                    .unwrap()
                    .contains(&format!("| {model} |")),
                "{table}"
            );
        }
        assert!(
            readme.contains(&table),
            "README lacks results/table4.md's Table IV verbatim:\n{table}"
        );
        // The wall time of each spec the README states is its provenance's.
        let walls: Vec<&str> = committed
            .lines()
            .filter(|l| l.starts_with("Store: "))
            .map(|l| {
                l.split(" taking ")
                    .nth(1)
                    .and_then(|r| r.split(" in all").next())
                    .expect("the wall time")
            })
            .collect();
        assert_eq!(walls.len(), 2, "{committed}");
        for wall in walls {
            assert!(
                readme.contains(&format!("**{wall}**")),
                "README does not state the wall time {wall} of results/table4.md"
            );
        }
    }

    /// The Markdown table under the heading `heading` of `text`.
    fn table_under(text: &str, heading: &str) -> String {
        let at = text
            .find(heading)
            .unwrap_or_else(|| panic!("no heading {heading}"));
        first_table(&text[at..])
    }

    #[test]
    fn the_readme_speed_tables_are_the_committed_bench_reports() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        for file in ["results/bench.md", "results/bench-1thread.md"] {
            let report = std::fs::read_to_string(root().join(file)).unwrap();
            let targets = table_under(&report, "## Targets");
            assert!(targets.lines().count() >= 5, "{file}: {targets}");
            assert!(
                readme.contains(&targets),
                "README lacks {file}'s Targets table verbatim:\n{targets}"
            );
        }
    }

    #[test]
    fn the_readme_long_signal_table_is_the_committed_bench_sequence_report() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let report = std::fs::read_to_string(root().join("results/bench-sequence.md")).unwrap();
        let table = first_table(&report);
        assert!(table.lines().count() >= 8, "{table}");
        assert!(
            readme.contains(&table),
            "README lacks results/bench-sequence.md's table verbatim:\n{table}"
        );
    }

    #[test]
    fn the_readme_presets_table_is_the_committed_reports() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let report = |model: &str, ds: &str| -> Option<serde_json::Value> {
            let p = root().join(format!("results/presets/{model}_{ds}.json"));
            let text = std::fs::read_to_string(p).ok()?;
            Some(serde_json::from_str(&text).unwrap())
        };
        let pm = |m: f64, s: f64| format!("{m:.3} ± {s:.3}");
        let mut rows = 0;
        for ds in mf_paper::dataset_names() {
            let (Some(esn), Some(mf_esn)) = (report("esn", ds), report("mf-esn", ds)) else {
                continue;
            };
            let mut cells = Vec::new();
            for (r, model, paper) in [
                (&esn, "esn", mf_paper::Model::Esn),
                (&mf_esn, "mf-esn", mf_paper::Model::MfEsn),
            ] {
                assert_eq!(r["model"], model);
                assert_eq!(r["seed"], 2025);
                assert_eq!(r["per_trial"].as_array().unwrap().len(), 5);
                cells.push(pm(r["mean"].as_f64().unwrap(), r["std"].as_f64().unwrap()));
                let p = mf_paper::table_iv(ds, paper).unwrap();
                cells.push(pm(p.mean, p.std));
            }
            let label = if mf_paper::dataset(ds).unwrap().is_regression() {
                format!("{ds} (RMSE)")
            } else {
                ds.to_string()
            };
            let row = format!("| {label} | {} |", cells.join(" | "));
            assert!(readme.contains(&row), "README lacks the row {row}");
            rows += 1;
        }
        assert_eq!(rows, 9, "reports for the nine data sets present");
    }

    #[test]
    fn the_readme_mf_rnn_reference_table_is_the_committed_reports() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let reported = |ds: &str| {
            root()
                .join(format!("results/mf-rnn-reference/mfrnn_{ds}_2025.json"))
                .exists()
        };
        let sets: Vec<&str> = mf_paper::dataset_names().filter(|d| reported(d)).collect();
        assert_eq!(sets.len(), 6, "{sets:?}");
        for ds in sets {
            let regression = mf_paper::dataset(ds).unwrap().is_regression();
            let cell = |seed| {
                let r = report(ds, seed);
                assert_eq!(r["model"], "mf-rnn");
                assert_eq!(r["per_trial"].as_array().unwrap().len(), 5);
                let (m, s) = (r["mean"].as_f64().unwrap(), r["std"].as_f64().unwrap());
                if regression {
                    format!("{m:.4} ± {s:.4}")
                } else {
                    format!("{m:.3} ± {s:.3}")
                }
            };
            let label = if regression {
                format!("{ds} (RMSE)")
            } else {
                ds.to_string()
            };
            let row = format!(
                "| {label} | {} | {} | {} | {} |",
                cell(2025),
                cell(7),
                cell(1),
                cell(2)
            );
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }
}
