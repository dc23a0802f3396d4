//! `${env:NAME}` in a spec: a secret (a token, a password) stands in the spec by name and
//! is read from the environment where the source runs. Its value never reaches a message.

use crate::SpecError;

/// `text` with every `${env:NAME}` replaced by the variable's value; an unset variable is
/// an error naming it (and `field`, where it was used).
pub fn expand_env(text: &str, field: &str) -> Result<String, SpecError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let Some(end) = after.find('}') else {
            return Err(SpecError::Invalid(format!(
                "{field}: `${{env:` without its closing `}}`"
            )));
        };
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(SpecError::Invalid(format!(
                "{field}: {name:?} is not an environment variable name"
            )));
        }
        match std::env::var(name) {
            Ok(value) => out.push_str(&value),
            Err(_) => {
                return Err(SpecError::Invalid(format!(
                    "{field}: the environment variable {name} is not set (the spec says ${{env:{name}}})"
                )));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_replaced_and_a_missing_one_is_named() {
        // SAFETY: set once, read in this test only.
        unsafe { std::env::set_var("INGEST_TEST_SECRET_A", "s3cr3t") };
        assert_eq!(
            expand_env("Bearer ${env:INGEST_TEST_SECRET_A}!", "auth.token").unwrap(),
            "Bearer s3cr3t!"
        );
        assert_eq!(expand_env("plain", "x").unwrap(), "plain");
        let e = expand_env("${env:INGEST_TEST_NOT_SET_ZZ}", "source.password").unwrap_err();
        assert!(e.to_string().contains(
            "source.password: the environment variable INGEST_TEST_NOT_SET_ZZ is not set"
        ));
        assert!(expand_env("${env:A", "x").is_err());
        assert!(expand_env("${env:a-b}", "x").is_err());
    }
}
