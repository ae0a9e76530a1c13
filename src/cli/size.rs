//! Sizes on the command line: `4096`, `4k`, `64KiB`, `1M`.

/// A size in bytes (clap's error names the flag and the value): a whole number, then an optional unit, in any case. `k`, `KiB`, `m`, `MiB`,
/// `g` and `GiB` are powers of 1024; `KB`, `MB` and `GB` powers of 1000, as in coreutils.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let invalid =
        || "not a size; give bytes, with an optional unit: 4096, 4k, 64KiB, 1M".to_string();
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1_000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(unit)
        .ok_or_else(|| "too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_and_decimal_units_in_any_case() {
        for (text, bytes) in [
            ("0", 0),
            ("4096", 4096),
            ("100b", 100),
            ("4k", 4096),
            ("4K", 4096),
            ("64KiB", 65536),
            ("64 kib", 65536),
            ("2KB", 2000),
            ("1M", 1 << 20),
            ("1mb", 1_000_000),
            ("1GiB", 1 << 30),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn other_sizes_are_refused_with_examples() {
        for text in ["", "k", "-1", "1.5k", "4x", "4 k b", "99999999999999999999"] {
            let error = parse_size(text).expect_err(text);
            assert!(error.contains("4k, 64KiB"), "{text}: {error}");
        }
        assert!(
            parse_size("99999999999G")
                .unwrap_err()
                .contains("too large")
        );
    }
}
