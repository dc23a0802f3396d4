//! Brazilian identifiers and addresses: CPF, CNPJ (numeric and alphanumeric), vehicle
//! plates, CEP, and a pragmatic e-mail shape. Each takes the value as written, with or
//! without its usual punctuation, and says whether it is well formed.

/// A CPF: 11 digits (`123.456.789-09` or `12345678909`) whose two check digits agree,
/// not all the same digit (`111.111.111-11` passes the arithmetic but is no one's).
pub fn is_cpf(value: &str) -> bool {
    let Some(digits) = stripped::<11>(value, b".- ") else {
        return false;
    };
    if !digits.iter().all(u8::is_ascii_digit) || digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let d: Vec<u32> = digits.iter().map(|&c| u32::from(c - b'0')).collect();
    let check = |n: usize| {
        let sum: u32 = (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum();
        (sum * 10 % 11) % 10
    };
    check(9) == d[9] && check(10) == d[10]
}

/// A CNPJ: 14 characters (`12.345.678/0001-95`), the first 12 digits or, from July 2026,
/// upper-case letters too (`12.ABC.345/01DE-35`); the last two are check digits computed
/// modulo 11 over each character's code minus 48.
pub fn is_cnpj(value: &str) -> bool {
    let Some(chars) = stripped::<14>(value, b"./- ") else {
        return false;
    };
    let base_ok = chars[..12]
        .iter()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
    if !base_ok || !chars[12..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    if chars.iter().all(|&c| c == chars[0]) {
        return false;
    }
    let v: Vec<u32> = chars.iter().map(|&c| u32::from(c) - 48).collect();
    let check = |n: usize| {
        // Weights run 2..=9 from the right, starting again after 9.
        let sum: u32 = (0..n).map(|i| v[n - 1 - i] * (2 + (i as u32 % 8))).sum();
        match sum % 11 {
            0 | 1 => 0,
            r => 11 - r,
        }
    };
    check(12) == v[12] && check(13) == v[13]
}

/// A vehicle plate: the old `ABC1234` (also written `ABC-1234`) or Mercosul `ABC1D23`.
pub fn is_plate_br(value: &str) -> bool {
    let b = value.as_bytes();
    let b: Vec<u8> = match b.len() {
        8 if b[3] == b'-' => [&b[..3], &b[4..]].concat(),
        7 => b.to_vec(),
        _ => return false,
    };
    b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3].is_ascii_digit()
        && (b[4].is_ascii_digit() || b[4].is_ascii_uppercase())
        && b[5..].iter().all(u8::is_ascii_digit)
}

/// A CEP: 8 digits (`01310-100`, `01310100`, `01.310-100`), not all zeros.
pub fn is_cep(value: &str) -> bool {
    match stripped::<8>(value, b".- ") {
        Some(d) => d.iter().all(u8::is_ascii_digit) && d.iter().any(|&c| c != b'0'),
        None => false,
    }
}

/// An e-mail address as forms accept it: one `@`, a local part of at most 64 bytes without
/// blanks, and a domain of dot-separated labels (letters, digits, hyphens; not starting or
/// ending with a hyphen) whose last one is at least two letters.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
    local_ok && domain_ok
}

/// The value's bytes without the punctuation in `drop`, if exactly `N` remain.
fn stripped<const N: usize>(value: &str, drop: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let mut n = 0;
    for &b in value.trim().as_bytes() {
        if drop.contains(&b) {
            continue;
        }
        if n == N {
            return None;
        }
        out[n] = b;
        n += 1;
    }
    (n == N).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpf() {
        // Check digits computed by hand: 529.982.247-25 is the usual documentation example.
        assert!(is_cpf("529.982.247-25"));
        assert!(is_cpf("52998224725"));
        assert!(!is_cpf("529.982.247-26"));
        assert!(!is_cpf("529.982.247-2"));
        assert!(!is_cpf("111.111.111-11"));
        assert!(!is_cpf("52998224725x"));
        assert!(!is_cpf(""));
    }

    #[test]
    fn cnpj_numeric_and_alphanumeric() {
        assert!(is_cnpj("11.222.333/0001-81"));
        assert!(is_cnpj("11222333000181"));
        assert!(!is_cnpj("11.222.333/0001-82"));
        assert!(!is_cnpj("00.000.000/0000-00"));
        // The Receita Federal's own example of the alphanumeric form.
        assert!(is_cnpj("12.ABC.345/01DE-35"));
        assert!(is_cnpj("12ABC34501DE35"));
        assert!(!is_cnpj("12.ABC.345/01DE-36"));
        assert!(!is_cnpj("12.abc.345/01de-35"));
        assert!(!is_cnpj("12.ABC.345/01DE-3A"));
    }

    #[test]
    fn plates() {
        for ok in ["ABC1234", "ABC-1234", "ABC1D23", "FAA5F00"] {
            assert!(is_plate_br(ok), "{ok}");
        }
        for bad in [
            "AB12345", "ABCD123", "123ABCD", "abc1234", "ABC12345", "ABC1DD3", "",
        ] {
            assert!(!is_plate_br(bad), "{bad}");
        }
    }

    #[test]
    fn cep_and_email() {
        assert!(is_cep("01310-100") && is_cep("01310100") && is_cep("01.310-100"));
        assert!(!is_cep("0131-100") && !is_cep("00000-000") && !is_cep("01310-10a"));
        for ok in [
            "pessoa1@exemplo.com.br",
            "a.b+c@sub.example.org",
            "joão@exemplo.com.br",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "sem-arroba.com",
            "a@b",
            "dois@@x.com",
            "a b@x.com",
            "@x.com",
            "a@x.c",
            "a@-x.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
