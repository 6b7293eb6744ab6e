//! Pass/fail limits given as flags, turned into goose threshold rules.
//!
//! `--max-p95-ms 200 --max-error-rate 0` becomes the goose rules
//! `p95<=200ms` and `error-rate<=0%`, judged over all requests together;
//! goose's own `--threshold` (e.g. `"p99<50ms for GET /search"`) adds
//! per-step rules. A rule that fails makes the exit code 1.

/// The limits of a run; `None` judges nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// Largest allowed 95th percentile response time, in milliseconds.
    pub p95_ms: Option<f64>,
    /// Largest allowed 99th percentile response time, in milliseconds.
    pub p99_ms: Option<f64>,
    /// Largest allowed share of failed requests, in percent (0 = none may fail).
    pub error_rate: Option<f64>,
}

impl Limits {
    /// The goose threshold rules for these limits, each checked by goose's
    /// own parser.
    pub fn rules(&self) -> Result<Vec<String>, String> {
        let mut rules = Vec::new();
        if let Some(ms) = self.p95_ms {
            rules.push(format!("p95<={ms}ms"));
        }
        if let Some(ms) = self.p99_ms {
            rules.push(format!("p99<={ms}ms"));
        }
        if let Some(pct) = self.error_rate {
            rules.push(format!("error-rate<={pct}%"));
        }
        for rule in &rules {
            rule.parse::<goose::threshold::Threshold>()
                .map_err(|e| format!("threshold {rule:?}: {e}"))?;
        }
        Ok(rules)
    }
}

/// A response time limit in milliseconds: a positive finite number.
pub fn parse_millis(text: &str) -> Result<f64, String> {
    let ms: f64 = text
        .trim()
        .trim_end_matches("ms")
        .parse()
        .map_err(|_| format!("{text:?} is not a number of milliseconds"))?;
    if ms.is_finite() && ms > 0.0 {
        Ok(ms)
    } else {
        Err(format!("{text:?}: a response time limit must be more than 0 ms"))
    }
}

/// An error rate limit in percent, 0 to 100 (a trailing `%` is allowed).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let pct: f64 = text
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{text:?} is not a percentage"))?;
    if (0.0..=100.0).contains(&pct) {
        Ok(pct)
    } else {
        Err(format!("{text:?}: an error rate is between 0 and 100 %"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_goose_rules() {
        let limits = Limits {
            p95_ms: Some(parse_millis("250").expect("ms")),
            p99_ms: Some(parse_millis("12.5ms").expect("ms")),
            error_rate: Some(parse_percent("0").expect("pct")),
        };
        assert_eq!(
            limits.rules().expect("valid"),
            ["p95<=250ms", "p99<=12.5ms", "error-rate<=0%"]
        );
        assert_eq!(Limits::default().rules().expect("none"), Vec::<String>::new());
        let some = Limits {
            error_rate: Some(parse_percent("1.5%").expect("pct")),
            ..Limits::default()
        };
        assert_eq!(some.rules().expect("valid"), ["error-rate<=1.5%"]);
    }

    #[test]
    fn nonsense_limits_are_refused() {
        for bad in ["0", "-5", "abc", "", "NaN", "inf", "5s"] {
            assert!(parse_millis(bad).is_err(), "{bad:?}");
        }
        for bad in ["-1", "100.1", "x%", "", "NaN"] {
            assert!(parse_percent(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_percent("100%"), Ok(100.0));
    }
}
