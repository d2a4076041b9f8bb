//! webhook: HTTP POST of the notice as JSON (the documented body, see
//! `notice::Notice`), or a bare GET/POST for heartbeat URLs. Secret headers
//! come by reference (`headers_env` / `headers_file`); a non-2xx reply fails.




use crate::alert::notice::Notice;
use crate::suite::alerting::webhook::{Method, Spec};

pub async fn send(spec: &Spec, n: &Notice) -> Result<(), String> {
    let timeout = crate::suite::alerting::webhook::timeout(spec);
    let client = super::http_client(timeout, spec.ca_file.as_deref())?;
    let headers = super::secret_headers(&spec.headers_env, &spec.headers_file)?;
    let (key, r) = spec
        .url_ref()
        .ok_or("give exactly one of url, url_env, url_file")?;
    let url = r
        .resolve()
        .map_err(|e| format!("{key} ({}): {e}", r.describe()))?;
    let url = url.expose();
    let req = match spec.method {
        Method::Get => client.get(url),
        Method::Post => client.post(url).json(n),
        Method::Put => client.put(url).json(n),
    };
    let resp = req.headers(headers).send().await.map_err(|e| {
        format!(
            "{}: {}",
            super::url_for_log(url),
            super::http_error(e)
        )
    })?;
    let st = resp.status();
    if st.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{}: HTTP {}",
            super::url_for_log(url),
            st.as_u16()
        ))
    }
}
