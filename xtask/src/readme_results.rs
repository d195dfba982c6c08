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
            let row = format!("| {label} | {} | {} |", cell(2025), cell(7));
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }
}
