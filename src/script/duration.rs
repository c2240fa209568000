//! Durations as written in scripts: `2s`, `500ms`, `1.5s`, `1m`, `1m30s`, `1h`.

use std::time::Duration;

/// What an error about a duration says is accepted.
pub(crate) const ACCEPTED: &str =
    "write a number with a unit: `2s`, `500ms`, `1.5s`, `1m`, `1m30s` (units h, m, s, ms)";

/// Parses `text`; the error is the message to show (the accepted forms go in the help).
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration `{text}`");
    if text.is_empty() {
        return Err(bad());
    }
    let mut rest = text;
    let mut total = 0.0_f64;
    // Units must come largest first, each at most once: `1h30m`, `1m30s`, `1s500ms`.
    let mut last_rank = 0;
    while !rest.is_empty() {
        // `DIGITS` or `DIGITS.DIGITS` (the JSON Schema's pattern says the same).
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if int_len == 0 {
            return Err(bad());
        }
        let mut num_len = int_len;
        if rest[int_len..].starts_with('.') {
            let frac_len = rest[int_len + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - int_len - 1);
            if frac_len == 0 {
                return Err(bad());
            }
            num_len = int_len + 1 + frac_len;
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let (unit_secs, rank, unit_len) = if rest.starts_with("ms") {
            (0.001, 4, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1, 1)
        } else if rest.starts_with('m') {
            (60.0, 2, 1)
        } else if rest.starts_with('s') {
            (1.0, 3, 1)
        } else {
            return Err(bad());
        };
        if rank <= last_rank {
            return Err(bad());
        }
        last_rank = rank;
        rest = &rest[unit_len..];
        total += number * unit_secs;
    }
    if !total.is_finite() || total > 24.0 * 3600.0 {
        return Err(format!("duration `{text}` is longer than a day"));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1s500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("24h"), Ok(Duration::from_secs(86400)));
        assert!(parse("24h1s").is_err());
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "2 minutes",
            "2",
            "",
            "s",
            "1.2.3s",
            "30s1m",
            "1m1m",
            "-2s",
            "2sec",
            "2 s",
            "1d",
            ".5s",
            "1.s",
            " 2s",
            "2s ",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
