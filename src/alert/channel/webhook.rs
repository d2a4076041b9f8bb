//! webhook: HTTP POST of the notice as JSON (the documented body, see
//! `notice::Notice`), or a bare GET/POST for heartbeat URLs. Secret headers
//! come by reference (`headers_env` / `headers_file`); a non-2xx reply fails.

use std::time::Duration;


pub use crate::suite::alerting::webhook::{Method, Spec};
use crate::alert::notice::Notice;




pub async fn send(spec: &Spec, n: &Notice) -> Result<(), String> {
    let timeout = spec.timeout.map_or(Duration::from_secs(10), |d| d.0);
    let client = super::http_client(timeout, spec.ca_file.as_deref())?;
    let headers = super::secret_headers(&spec.headers_env, &spec.headers_file)?;
    let req = match spec.method {
        Method::Get => client.get(&spec.url),
        Method::Post => client.post(&spec.url).json(n),
        Method::Put => client.put(&spec.url).json(n),
    };
    let resp = req.headers(headers).send().await.map_err(|e| {
        format!(
            "{}: {}",
            super::url_for_log(&spec.url),
            super::http_error(e)
        )
    })?;
    let st = resp.status();
    if st.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{}: HTTP {}",
            super::url_for_log(&spec.url),
            st.as_u16()
        ))
    }
}

