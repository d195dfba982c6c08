//! Real-data check against the paper's Table IV: SyntheticControl with the paper's MF-ESN and ESN presets.

mod ucr;

use std::path::PathBuf;

use mf_esn::{presets, run_trials};

#[test]
fn synthetic_control_presets_land_near_table_iv() {
    let name = "SyntheticControl";
    let required = std::env::var("MF_REQUIRE_DATA").is_ok_and(|v| v == "1");
    let Some(dir) = std::env::var_os("MF_DATA_DIR").map(PathBuf::from) else {
        assert!(!required, "MF_DATA_DIR is unset but MF_REQUIRE_DATA=1");
        println!("MF_DATA_DIR is unset: skipping the {name} check");
        return;
    };
    let Some((train, test)) = ucr::load(&dir, name, false) else {
        assert!(
            !required,
            "{name} is absent from {} but MF_REQUIRE_DATA=1",
            dir.display()
        );
        println!("{name} is absent from {}: skipping", dir.display());
        return;
    };
    let (paper_esn, paper_mf) = presets::paper_scores(name).unwrap();
    for (cfg, paper) in [
        (presets::mf_esn(name).unwrap(), paper_mf),
        (presets::esn(name).unwrap(), paper_esn),
    ] {
        let r = run_trials(
            &cfg,
            &train.seqs,
            &train.targets,
            &test.seqs,
            &test.targets,
            5,
            2025,
        )
        .unwrap();
        let tol = (2.0 * (paper.std + 0.01)).max(0.03);
        assert!(
            r.mean >= paper.mean - tol,
            "{name}: {:.3} vs paper {:.3} (tolerance {tol:.3})",
            r.mean,
            paper.mean
        );
    }
}
