//! The page loop: the first request from the spec (with the cursor in its parameters),
//! each next one from the pagination, until an empty page, no next cursor or link, or
//! `max_pages`. Each page's records go on as NDJSON (one record per line) as soon as the
//! page is read, so memory holds a page or two whatever their number.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::value::RawValue;
use tokio::sync::mpsc;
use url::Url;

use super::HttpError;
use super::fetch::{Fetcher, Response};
use super::json_path::{Found, JsonPath, top_keys};
use crate::spec::{HttpSource, Pagination};
use crate::stats::PullStats;

/// One page's records, one JSON object per line.
#[derive(Debug)]
pub struct Page {
    pub number: u64,
    pub ndjson: Vec<u8>,
}

/// What the loop needs beside the spec.
pub struct PageLoop {
    pub source: HttpSource,
    /// The cursor as it goes into `{cursor}` (ISO 8601 for times); `None`: the parameters
    /// that use it are left out.
    pub cursor: Option<String>,
    /// A run that finds no record at all fails (a first run), unless the spec allows it.
    pub require_records: bool,
    pub stats: Arc<PullStats>,
}

impl PageLoop {
    /// Fetches every page into `pages`; an error is sent as the last item. Stops early
    /// when the receiver is gone (the load failed or was cancelled).
    pub async fn run(self, pages: mpsc::Sender<Result<Page, HttpError>>) {
        if let Err(e) = self.fetch_all(&pages).await {
            let _ = pages.send(Err(e)).await;
        }
    }

    async fn fetch_all(
        &self,
        pages: &mpsc::Sender<Result<Page, HttpError>>,
    ) -> Result<(), HttpError> {
        let source = &self.source;
        let records_path = JsonPath::parse(&source.records).map_err(HttpError::Config)?;
        let mut fetcher = Fetcher::new(source, self.stats.clone())?;
        let mut state = Paging::new(source.pagination.clone())?;
        let base = first_url(source, self.cursor.as_deref())?;
        let mut url = state.first(&base);
        let mut total = 0u64;
        for number in 1.. {
            let response = fetcher.get(&url, number).await?;
            let doc = parse_page(&response, number, &url)?;
            let records = match records_path.find(doc) {
                Found::Values(v) => v,
                Found::Missing { at } => {
                    return Err(HttpError::NoRecordsPath {
                        page: number,
                        path: records_path.as_str().to_string(),
                        at,
                        keys: top_keys(doc),
                    });
                }
            };
            let count = records.len() as u64;
            total += count;
            self.stats.pages.fetch_add(1, Ordering::Relaxed);
            self.stats.records.fetch_add(count, Ordering::Relaxed);
            let next = state.next(&url, doc, &response, count, number)?;
            if count > 0 {
                let page = Page {
                    number,
                    ndjson: ndjson(&records),
                };
                if pages.send(Ok(page)).await.is_err() {
                    return Ok(());
                }
            }
            match next {
                Some(n) if count > 0 && source.max_pages.is_none_or(|m| number < m) => {
                    if n.origin() != base.origin() {
                        return Err(HttpError::ForeignLink {
                            page: number,
                            link: n.origin().ascii_serialization(),
                        });
                    }
                    url = n;
                }
                _ => break,
            }
        }
        if total == 0 && self.require_records && !source.allow_empty {
            return Err(HttpError::NoRecords {
                path: records_path.as_str().to_string(),
            });
        }
        Ok(())
    }
}

/// The first request's URL: base, path and the spec's parameters, `{cursor}` filled in.
pub fn first_url(source: &HttpSource, cursor: Option<&str>) -> Result<Url, HttpError> {
    let joined = format!(
        "{}/{}",
        source.base_url.trim_end_matches('/'),
        source.request.path.trim_start_matches('/')
    );
    let mut url = Url::parse(&joined)
        .map_err(|e| HttpError::Config(format!("source.base_url and request.path: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in &source.request.params {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            match (text.contains("{cursor}"), cursor) {
                (true, Some(c)) => query.append_pair(name, &text.replace("{cursor}", c)),
                // No cursor yet and no `initial`: the parameter is left out.
                (true, None) => continue,
                (false, _) => query.append_pair(name, &text),
            };
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url)
}

fn parse_page<'a>(response: &'a Response, page: u64, url: &Url) -> Result<&'a RawValue, HttpError> {
    serde_json::from_slice::<&RawValue>(&response.body).map_err(|e| {
        let start = String::from_utf8_lossy(&response.body[..response.body.len().min(60)]);
        HttpError::NotJson {
            what: format!("GET {} (page {page})", url.path()),
            message: e.to_string(),
            content_type: response.content_type.clone(),
            start: start.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    })
}

/// The records as NDJSON, one record per line.
fn ndjson(records: &[&RawValue]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.get().len() + 1).sum());
    for record in records {
        ingest_formats::json::push_ndjson_line(&mut out, record.get());
    }
    out
}

/// Where the next page is, by the spec's pagination; a cursor or link seen before is a
/// loop, which would never end.
struct Paging {
    pagination: Option<Pagination>,
    cursor_path: Option<JsonPath>,
    seen: HashSet<String>,
    /// Offset pagination: records read so far; page numbers: the next page.
    position: u64,
}

impl Paging {
    fn new(pagination: Option<Pagination>) -> Result<Paging, HttpError> {
        let cursor_path = match &pagination {
            Some(Pagination::Cursor { cursor_path, .. }) => Some(cursor_path),
            Some(Pagination::NextLink { path }) => Some(path),
            _ => None,
        }
        .map(|p| JsonPath::parse(p).map_err(HttpError::Config))
        .transpose()?;
        let position = match &pagination {
            Some(Pagination::PageNumber { start, .. }) => *start,
            _ => 0,
        };
        Ok(Paging {
            pagination,
            cursor_path,
            seen: HashSet::new(),
            position,
        })
    }

    /// The first page's URL: offset and page-number pagination add their parameter.
    fn first(&mut self, base: &Url) -> Url {
        match &self.pagination {
            Some(Pagination::Offset {
                param,
                limit_param,
                limit,
            }) => {
                let mut url = with_param(base, param, "0");
                if let (Some(lp), Some(l)) = (limit_param, limit) {
                    url = with_param(&url, lp, &l.to_string());
                }
                url
            }
            Some(Pagination::PageNumber { param, .. }) => {
                with_param(base, param, &self.position.to_string())
            }
            _ => base.clone(),
        }
    }

    fn next(
        &mut self,
        current: &Url,
        doc: &RawValue,
        response: &Response,
        records: u64,
        page: u64,
    ) -> Result<Option<Url>, HttpError> {
        let next = match self.pagination.clone() {
            None => None,
            Some(Pagination::Cursor { param, .. }) => {
                let path = self.cursor_path.as_ref().expect("a cursor path");
                match path.scalar(doc) {
                    Some(c) => {
                        self.seen_before(&c, page)?;
                        Some(with_param(current, &param, &c))
                    }
                    None => None,
                }
            }
            Some(Pagination::Offset { param, limit, .. }) => {
                self.position += records;
                match limit {
                    Some(l) if records < l => None,
                    _ => Some(with_param(current, &param, &self.position.to_string())),
                }
            }
            Some(Pagination::PageNumber { param, .. }) => {
                self.position += 1;
                Some(with_param(current, &param, &self.position.to_string()))
            }
            Some(Pagination::NextLink { .. }) => {
                let path = self.cursor_path.as_ref().expect("a link path");
                match path.scalar(doc) {
                    Some(link) => Some(self.link(current, &link, page)?),
                    None => None,
                }
            }
            Some(Pagination::LinkHeader) => match next_link(&response.headers) {
                Some(link) => Some(self.link(current, &link, page)?),
                None => None,
            },
        };
        Ok(next)
    }

    fn link(&mut self, current: &Url, link: &str, page: u64) -> Result<Url, HttpError> {
        let url = current.join(link).map_err(|e| {
            HttpError::Config(format!("page {page}: the next link is not a URL ({e})"))
        })?;
        self.seen_before(url.as_str(), page)?;
        Ok(url)
    }

    fn seen_before(&mut self, next: &str, page: u64) -> Result<(), HttpError> {
        if self.seen.insert(next.to_string()) {
            Ok(())
        } else {
            Err(HttpError::PaginationLoop {
                page,
                next: next.chars().take(80).collect(),
            })
        }
    }
}

/// `url` with `name` set to `value` (replaced if present).
fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    out
}

/// The `rel="next"` target of a `Link` header (RFC 8288).
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p == "rel=\"next\"" || p == "rel=next"
            });
            is_next.then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, LINK};

    #[test]
    fn the_cursor_goes_in_percent_encoded_and_params_without_one_are_left_out() {
        let source: crate::SourceSpec = crate::SourceSpec::parse(
            "name: t\nsource: {type: http, base_url: 'http://h/v2/', request: {path: /trips, params: {updated_since: '{cursor}', per_page: 100}}}\ntarget: {table: t}\n",
            "t.yaml",
        )
        .unwrap();
        let crate::SourceKind::Http(h) = source.source else {
            panic!()
        };
        let url = first_url(&h, Some("2026-01-01T00:00:00+01:00")).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/v2/trips?per_page=100&updated_since=2026-01-01T00%3A00%3A00%2B01%3A00"
        );
        assert_eq!(
            first_url(&h, None).unwrap().as_str(),
            "http://h/v2/trips?per_page=100"
        );
    }

    #[test]
    fn records_become_one_line_each() {
        let doc: &RawValue = serde_json::from_str("[{\"a\":\n 1}, {\"b\": \"x\\ny\"}]").unwrap();
        let records: Vec<&RawValue> = serde_json::from_str(doc.get()).unwrap();
        assert_eq!(ndjson(&records), b"{\"a\":  1}\n{\"b\": \"x\\ny\"}\n");
    }

    #[test]
    fn link_headers_and_loops() {
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            HeaderValue::from_static(
                "<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\"",
            ),
        );
        assert_eq!(next_link(&h).as_deref(), Some("https://a/x?page=3"));
        let mut paging = Paging::new(Some(Pagination::LinkHeader)).unwrap();
        let here = Url::parse("https://a/x?page=2").unwrap();
        assert!(paging.link(&here, "/x?page=3", 2).is_ok());
        assert!(matches!(
            paging.link(&here, "/x?page=3", 3),
            Err(HttpError::PaginationLoop { page: 3, .. })
        ));
        assert_eq!(
            with_param(&here, "page", "9").as_str(),
            "https://a/x?page=9"
        );
    }
}
