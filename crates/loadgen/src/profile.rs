//! Load profiles: how many users run when, as a goose test plan.
//!
//! A profile is a list of steps, each "reach N users over T seconds" (users
//! start or stop evenly over the step; a step that keeps the count holds it).
//! `--profile` names a shape scaled by `--peak-users` and `--duration`, or
//! gives the steps themselves in goose's `--test-plan` syntax.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A named load shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Rise steadily to the peak over 90 % of the time, then stop in the
    /// rest: where does it start to hurt?
    Ramp,
    /// Reach the peak in 10 % of the time, hold it for 80 %, stop in 10 %:
    /// steady-state latency and throughput.
    Plateau,
    /// Hold a fifth of the peak, jump to the peak within a second, hold it,
    /// drop back, hold, stop: does the system recover from a burst?
    Spike,
}

impl Shape {
    /// Every shape, by name.
    pub const ALL: [(&'static str, Shape); 3] = [
        ("ramp", Shape::Ramp),
        ("plateau", Shape::Plateau),
        ("spike", Shape::Spike),
    ];
}

/// One step: reach `users` over `millis` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Users running at the end of the step.
    pub users: usize,
    /// How long the step lasts, in milliseconds.
    pub millis: u64,
}

/// A load profile: the steps and the test plan text goose runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    steps: Vec<Step>,
    plan: String,
}

/// Why a profile cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError(pub String);

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProfileError {}

impl Profile {
    /// `shape` scaled to `peak` users and `duration_secs` seconds in all.
    pub fn shaped(shape: Shape, peak: usize, duration_secs: u64) -> Result<Self, ProfileError> {
        if peak == 0 {
            return Err(ProfileError("--peak-users must be at least 1".into()));
        }
        // (users, percent of the duration; None = one second); the last step
        // takes what is left.
        let parts: Vec<(usize, Option<u64>)> = match shape {
            Shape::Ramp => vec![(peak, Some(90)), (0, None)],
            Shape::Plateau => vec![(peak, Some(10)), (peak, Some(80)), (0, None)],
            Shape::Spike => {
                if peak < 2 {
                    return Err(ProfileError(
                        "the spike profile needs --peak-users of at least 2".into(),
                    ));
                }
                let base = (peak / 5).clamp(1, peak - 1);
                vec![
                    (base, Some(10)),
                    (base, Some(30)),
                    (peak, None),
                    (peak, Some(20)),
                    (base, None),
                    (base, Some(25)),
                    (0, None),
                ]
            }
        };
        let last = parts.len() - 1;
        let mut secs: Vec<u64> = parts
            .iter()
            .map(|(_, pct)| pct.map_or(1, |p| (duration_secs * p).div_ceil(100).max(1)))
            .collect();
        let used: u64 = secs[..last].iter().sum();
        if duration_secs < used + 1 {
            return Err(ProfileError(format!(
                "--duration {duration_secs}s is too short for this profile (at least {}s)",
                used + 1
            )));
        }
        secs[last] = duration_secs - used;
        let steps: Vec<Step> = parts
            .iter()
            .zip(&secs)
            .map(|((users, _), s)| Step {
                users: *users,
                millis: s * 1000,
            })
            .collect();
        let plan = steps
            .iter()
            .map(|s| format!("{},{}s", s.users, s.millis / 1000))
            .collect::<Vec<_>>()
            .join(";");
        Ok(Self { steps, plan })
    }

    /// A profile named on the command line: `ramp`, `plateau` or `spike`
    /// (scaled to `peak` users over `duration_secs`), or steps in goose's
    /// test plan syntax such as `10,30s;10,1m;0,10s` (taken as given).
    pub fn parse(text: &str, peak: usize, duration_secs: u64) -> Result<Self, ProfileError> {
        let text = text.trim();
        if let Some((_, shape)) = Shape::ALL.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)) {
            return Self::shaped(*shape, peak, duration_secs);
        }
        if !text.contains(',') {
            return Err(ProfileError(format!(
                "unknown profile {text:?}: use ramp, plateau, spike or a test plan such as \"10,30s;10,1m;0,10s\""
            )));
        }
        let plan =
            goose::test_plan::TestPlan::from_str(text).map_err(|e| ProfileError(format!("test plan {text:?}: {e}")))?;
        let steps = plan
            .steps
            .iter()
            .map(|&(users, ms)| Step {
                users,
                millis: ms as u64,
            })
            .collect();
        Ok(Self {
            steps,
            plan: text.to_owned(),
        })
    }

    /// The steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The test plan text goose runs (`--test-plan` syntax).
    pub fn plan(&self) -> &str {
        &self.plan
    }

    /// How long the whole profile lasts.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.steps.iter().map(|s| s.millis).sum())
    }

    /// The most users it runs at once.
    pub fn peak(&self) -> usize {
        self.steps.iter().map(|s| s.users).max().unwrap_or(0)
    }

    /// Users the plan has running `elapsed` into the run (users start and
    /// stop evenly over a step), rounded down; 0 after the end.
    pub fn users_at(&self, elapsed: Duration) -> usize {
        let t = elapsed.as_millis() as u64;
        let (mut start, mut from) = (0u64, 0usize);
        for s in &self.steps {
            let end = start + s.millis;
            if t < end {
                let done = (t - start) as f64 / s.millis as f64;
                let users = from as f64 + (s.users as f64 - from as f64) * done;
                return users.floor() as usize;
            }
            start = end;
            from = s.users;
        }
        from
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(p: &Profile) -> u64 {
        p.duration().as_secs()
    }

    #[test]
    fn each_shape_lasts_the_duration_reaches_the_peak_and_ends_with_no_users() {
        for (name, shape) in Shape::ALL {
            for (peak, duration) in [(2, 20), (10, 60), (50, 600), (7, 37)] {
                let p = Profile::shaped(shape, peak, duration).expect(name);
                assert_eq!(secs(&p), duration, "{name} {peak} {duration}: {:?}", p.steps());
                assert_eq!(p.peak(), peak, "{name}");
                assert_eq!(p.steps().last().map(|s| s.users), Some(0), "{name}");
                assert!(p.steps().iter().all(|s| s.millis >= 1000), "{name}: {:?}", p.steps());
                // goose accepts what we hand it, with the same steps.
                let again = Profile::parse(p.plan(), 1, 1).expect("goose parses our plan");
                assert_eq!(again.steps(), p.steps(), "{name}: {}", p.plan());
            }
        }
    }

    #[test]
    fn plateau_holds_the_peak_for_most_of_the_run() {
        let p = Profile::shaped(Shape::Plateau, 10, 100).expect("plateau");
        assert_eq!(p.plan(), "10,10s;10,80s;0,10s");
        assert_eq!(p.users_at(Duration::from_secs(0)), 0);
        assert_eq!(p.users_at(Duration::from_secs(5)), 5);
        assert_eq!(p.users_at(Duration::from_secs(10)), 10);
        assert_eq!(p.users_at(Duration::from_secs(60)), 10);
        assert_eq!(p.users_at(Duration::from_secs(95)), 5);
        assert_eq!(p.users_at(Duration::from_secs(100)), 0);
        assert_eq!(p.users_at(Duration::from_secs(1000)), 0);
    }

    #[test]
    fn a_spike_jumps_from_a_fifth_of_the_peak_to_the_peak_and_back_within_a_second() {
        let p = Profile::shaped(Shape::Spike, 20, 100).expect("spike");
        assert_eq!(p.plan(), "4,10s;4,30s;20,1s;20,20s;4,1s;4,25s;0,13s");
        assert_eq!(p.users_at(Duration::from_secs(30)), 4);
        assert_eq!(p.users_at(Duration::from_millis(40_500)), 12);
        assert_eq!(p.users_at(Duration::from_secs(50)), 20);
        assert_eq!(p.users_at(Duration::from_secs(70)), 4);
        // the smallest spike still has a base below its peak
        let small = Profile::shaped(Shape::Spike, 2, 20).expect("small spike");
        assert_eq!(small.steps()[0].users, 1);
        assert!(Profile::shaped(Shape::Spike, 1, 60).is_err());
    }

    #[test]
    fn a_ramp_rises_steadily() {
        let p = Profile::shaped(Shape::Ramp, 9, 100).expect("ramp");
        assert_eq!(p.plan(), "9,90s;0,10s");
        assert_eq!(p.users_at(Duration::from_secs(45)), 4);
        assert_eq!(p.users_at(Duration::from_secs(89)), 8);
    }

    #[test]
    fn names_plans_and_mistakes() {
        assert_eq!(
            Profile::parse(" Plateau ", 4, 20),
            Profile::shaped(Shape::Plateau, 4, 20)
        );
        let raw = Profile::parse("3,5s;3,1m;0,5s", 99, 99).expect("a test plan");
        assert_eq!(raw.plan(), "3,5s;3,1m;0,5s");
        assert_eq!(raw.duration(), Duration::from_secs(70));
        assert_eq!(raw.peak(), 3);
        for bad in ["flat", "", "3,5x", "0,10s"] {
            assert!(Profile::parse(bad, 4, 20).is_err(), "{bad:?}");
        }
        assert!(Profile::shaped(Shape::Plateau, 0, 20).is_err(), "no users");
        let short = Profile::shaped(Shape::Spike, 10, 5).expect_err("too short");
        assert!(short.0.contains("too short"), "{short}");
    }
}
