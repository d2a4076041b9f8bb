//! A DMARC record as the suite writes it (`dmarc.record`, RFC 7489 tags),
//! parsed by validation and where an outbound probe is checked: the policy
//! and the two alignment modes are what the external-side check needs;
//! reporting tags (rua, ruf, pct, …) are ignored.

/// The tags healthmon uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dmarc {
    /// `p=`: none, quarantine or reject (named in a failure).
    pub policy: String,
    /// `adkim=s`: the DKIM domain must equal the From domain.
    pub strict_dkim: bool,
    /// `aspf=s`: the envelope sender's domain must equal the From domain.
    pub strict_spf: bool,
}

pub fn parse(record: &str) -> Result<Dmarc, String> {
    let mut tags = record
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.split_once('=').map(|(k, v)| (k.trim(), v.trim())));
    if tags.next() != Some(Some(("v", "DMARC1"))) {
        return Err("a DMARC record starts with `v=DMARC1`".into());
    }
    let mut policy = None;
    let (mut strict_dkim, mut strict_spf) = (false, false);
    for tag in tags {
        let Some((k, v)) = tag else {
            return Err("every tag is NAME=VALUE, separated by `;`".into());
        };
        match k {
            "p" if matches!(v, "none" | "quarantine" | "reject") => policy = Some(v.to_string()),
            "p" => return Err(format!("p={v}: the policy is none, quarantine or reject")),
            "adkim" | "aspf" => {
                let strict = match v {
                    "s" => true,
                    "r" => false,
                    _ => return Err(format!("{k}={v}: alignment is r (relaxed) or s (strict)")),
                };
                *(if k == "adkim" {
                    &mut strict_dkim
                } else {
                    &mut strict_spf
                }) = strict;
            }
            _ => {}
        }
    }
    Ok(Dmarc {
        policy: policy.ok_or("the record has no policy (p=none|quarantine|reject)")?,
        strict_dkim,
        strict_spf,
    })
}
