//! The Stability view: the configuration shown, the keys that change it and the picture computed for it.

use crate::dashboard::action::{Effect, Key};
use crate::dashboard::app::App;
use crate::dashboard::data::{StabilityParams, StabilityPicture};

#[derive(Debug, Clone, PartialEq)]
pub struct StabilityView {
    /// The configuration shown.
    pub params: StabilityParams,
    /// Selected parameter: 0 dt, 1 gamma, 2 s, 3 rho.
    pub field: usize,
    /// The latest picture (for `params` unless `computing`).
    pub picture: Option<Result<StabilityPicture, String>>,
    /// A computation for `params` is under way.
    pub computing: bool,
}

/// Shows a computed picture if it belongs to the configuration shown (an older one is dropped).
pub(in crate::dashboard) fn computed(
    app: &mut App,
    params: StabilityParams,
    result: Result<StabilityPicture, String>,
) {
    if params == app.stability.params {
        app.stability.computing = false;
        if let Err(e) = &result {
            app.status = format!("error: stability: {e}");
        }
        app.stability.picture = Some(result);
    }
}

const DT_STEPS: [f64; 5] = [0.001, 0.01, 0.05, 0.1, 0.5];

/// `j`/`k` choose a parameter, `h`/`l` step it; every change asks for a new picture.
pub(in crate::dashboard) fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
    let st = &mut app.stability;
    let p = &mut st.params;
    match key {
        Key::Down | Key::Char('j') => st.field = (st.field + 1) % 4,
        Key::Up | Key::Char('k') => st.field = (st.field + 3) % 4,
        Key::Left | Key::Char('h') | Key::Right | Key::Char('l') => {
            let up = matches!(key, Key::Right | Key::Char('l'));
            let sign = if up { 1.0 } else { -1.0 };
            match st.field {
                0 => {
                    let i = DT_STEPS
                        .iter()
                        .position(|d| *d >= p.dt)
                        .unwrap_or(DT_STEPS.len() - 1);
                    let i = if up {
                        (i + 1).min(DT_STEPS.len() - 1)
                    } else {
                        i.saturating_sub(1)
                    };
                    p.dt = DT_STEPS[i];
                }
                1 => p.gamma = round2((p.gamma + sign * 0.05).clamp(0.05, 1.0)),
                2 => p.s = round2((p.s + sign).clamp(1.0, 10.0)),
                _ => p.rho = round2((p.rho + sign * 0.1).clamp(0.1, 5.0)),
            }
            st.computing = true;
            return vec![Effect::ComputeStability(*p)];
        }
        _ => {}
    }
    Vec::new()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
