//! The suite as healthmon sees it (`healthmon render`): after includes, the
//! merged `defaults`/`alerting`/`reports` sections and `${ENV}` expansion,
//! with every inline secret replaced by a marker. References
//! (`password_env`, `*_file`) are shown as written: they name, not hold.

use serde_yaml::Value;

use super::model::SuiteSpec;

/// What an inline secret is shown as.
pub const HIDDEN: &str = "<inline secret, not shown>";

/// `spec` as a YAML value with inline secrets hidden.
pub fn suite_value(spec: &SuiteSpec) -> Result<Value, String> {
    let mut v = serde_yaml::to_value(spec).map_err(|e| e.to_string())?;
    hide_secrets(&mut v);
    Ok(v)
}

/// Hide every value under a secret-bearing key (`password`, `token`, a
/// webhook `url`, every value of an inline `headers` map), at any depth.
/// Nulls stay (nothing to hide); references stay.
pub fn hide_secrets(v: &mut Value) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m.iter_mut() {
                let key = k.as_str().unwrap_or_default();
                if key == "headers" {
                    if let Value::Mapping(h) = val {
                        for (_, hv) in h.iter_mut() {
                            hide(hv);
                        }
                    }
                } else if super::load::holds_secret(key) {
                    hide(val);
                } else {
                    hide_secrets(val);
                }
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(hide_secrets),
        Value::Tagged(t) => hide_secrets(&mut t.value),
        _ => {}
    }
}

fn hide(v: &mut Value) {
    if !v.is_null() {
        *v = Value::String(HIDDEN.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_secrets_hidden_references_kept() {
        let mut v: Value = serde_yaml::from_str(
            "accounts:\n  a: {password: hunter2, password_env: X, password_file: /p}\n\
             alerting:\n  channels:\n    h: {webhook: {url: 'https://h.example/T0/SECRET', headers: {Authorization: Bearer tok}}}\n\
             hosts:\n  mta1: {address: 127.0.0.1, password: null}\n",
        )
        .unwrap();
        hide_secrets(&mut v);
        let text = serde_yaml::to_string(&v).unwrap();
        for s in ["hunter2", "SECRET", "Bearer tok"] {
            assert!(!text.contains(s), "{s} shown:\n{text}");
        }
        assert!(text.contains("password_env: X"), "{text}");
        assert!(text.contains("password_file: /p"), "{text}");
        assert!(text.contains("address: 127.0.0.1"), "{text}");
        assert_eq!(text.matches(HIDDEN).count(), 3, "{text}");
    }
}
