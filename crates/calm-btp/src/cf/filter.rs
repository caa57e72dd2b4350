//! List filters and the URLs they make. Multi-value filters are comma-separated lists (OR);
//! different filters combine with AND (btp-api.md §2.3 filters). An empty list means "not
//! filtered", so a caller with nothing to look for should not call at all.

use url::Url;

/// Filter for organizations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationFilter {
    /// Names (case-insensitive).
    pub names: Vec<String>,
    /// GUIDs.
    pub guids: Vec<String>,
    /// A label selector, e.g. `calmctl.sap/managed-by=calmctl`.
    pub label_selector: Option<String>,
}

/// Filter for spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpaceFilter {
    /// Names (case-insensitive).
    pub names: Vec<String>,
    /// GUIDs.
    pub guids: Vec<String>,
    /// Orgs.
    pub organization_guids: Vec<String>,
    /// A label selector.
    pub label_selector: Option<String>,
}

/// Filter for service plans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePlanFilter {
    /// Plan names (case-insensitive).
    pub names: Vec<String>,
    /// Offering names (case-insensitive).
    pub service_offering_names: Vec<String>,
    /// Orgs; note that public plans are not filtered out by this (btp-api.md §2.6).
    pub organization_guids: Vec<String>,
    /// Spaces.
    pub space_guids: Vec<String>,
}

/// Filter for service instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInstanceFilter {
    /// Names (case-sensitive).
    pub names: Vec<String>,
    /// GUIDs.
    pub guids: Vec<String>,
    /// Spaces.
    pub space_guids: Vec<String>,
    /// Orgs.
    pub organization_guids: Vec<String>,
    /// Plans.
    pub service_plan_guids: Vec<String>,
    /// A label selector.
    pub label_selector: Option<String>,
}

/// Filter for service credential bindings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceCredentialBindingFilter {
    /// Names (case-sensitive).
    pub names: Vec<String>,
    /// GUIDs.
    pub guids: Vec<String>,
    /// Instances.
    pub service_instance_guids: Vec<String>,
    /// A label selector.
    pub label_selector: Option<String>,
}

/// Query parameters of a list call: single values and value lists.
#[derive(Debug, Default)]
pub(super) struct Query {
    single: Vec<(&'static str, String)>,
    lists: Vec<(&'static str, Vec<String>)>,
}

impl Query {
    pub(super) fn one(mut self, name: &'static str, value: Option<&str>) -> Self {
        if let Some(value) = value {
            self.single.push((name, value.to_owned()));
        }
        self
    }

    pub(super) fn list(mut self, name: &'static str, values: &[String]) -> Self {
        if !values.is_empty() {
            // A value that contains a comma must be percent-encoded before the list is joined
            // (btp-api.md §2.3), or CF would read it as two values.
            let escaped = values.iter().map(|v| v.replace(',', "%2C")).collect();
            self.lists.push((name, escaped));
        }
        self
    }

    /// The URLs to read: one, or several when the longest value list has to be split to keep
    /// each URL within `max_len` bytes. Every value appears in exactly one URL.
    pub(super) fn urls(&self, base: &Url, per_page: u32, max_len: usize) -> Vec<Url> {
        let split_index = self
            .lists
            .iter()
            .enumerate()
            .max_by_key(|(_, (_, values))| values.iter().map(String::len).sum::<usize>())
            .map(|(index, _)| index);
        let Some(split_index) = split_index else {
            return vec![self.build(base, per_page, None)];
        };
        let (split_name, values) = &self.lists[split_index];
        let without = self.build(base, per_page, Some((split_index, &[])));
        // `&name=` plus each value encoded plus a `%2C` (encoded comma) between values.
        let fixed = without.as_str().len() + split_name.len() + 2;
        let mut urls = Vec::new();
        let mut chunk: Vec<String> = Vec::new();
        let mut len = fixed;
        for value in values {
            let encoded = encoded_len(value) + if chunk.is_empty() { 0 } else { 3 };
            if !chunk.is_empty() && len + encoded > max_len {
                urls.push(self.build(base, per_page, Some((split_index, &chunk))));
                chunk.clear();
                len = fixed;
            }
            len += encoded_len(value) + if chunk.is_empty() { 0 } else { 3 };
            chunk.push(value.clone());
        }
        urls.push(self.build(base, per_page, Some((split_index, &chunk))));
        urls
    }

    fn build(&self, base: &Url, per_page: u32, replace: Option<(usize, &[String])>) -> Url {
        let mut url = base.clone();
        {
            let mut pairs = url.query_pairs_mut();
            for (index, (name, values)) in self.lists.iter().enumerate() {
                let values = match replace {
                    Some((replaced, chunk)) if replaced == index => chunk,
                    _ => values.as_slice(),
                };
                if !values.is_empty() {
                    pairs.append_pair(name, &values.join(","));
                }
            }
            for (name, value) in &self.single {
                pairs.append_pair(name, value);
            }
            pairs.append_pair("per_page", &per_page.to_string());
        }
        url
    }
}

fn encoded_len(value: &str) -> usize {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .map(str::len)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_split_under_the_limit_and_nothing_is_lost() {
        let base = Url::parse("https://api.cf.eu10.hana.ondemand.com/v3/spaces").expect("url");
        let guids: Vec<String> = (0..3000)
            .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
            .collect();
        let query = Query::default()
            .list("organization_guids", &guids)
            .list("names", &["dev".to_owned()])
            .one("label_selector", Some("calmctl.sap/managed-by=calmctl"));
        let urls = query.urls(&base, 5000, 8000);
        assert!(urls.len() > 10, "{}", urls.len());
        let mut seen = Vec::new();
        for url in &urls {
            assert!(url.as_str().len() <= 8000, "{}", url.as_str().len());
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            assert!(pairs.contains(&("names".into(), "dev".into())));
            assert!(pairs.contains(&("per_page".into(), "5000".into())));
            let (_, list) = pairs
                .iter()
                .find(|(name, _)| name == "organization_guids")
                .expect("every URL carries part of the split list");
            seen.extend(list.split(',').map(str::to_owned));
        }
        assert_eq!(seen, guids);
    }

    #[test]
    fn short_lists_make_one_url_and_commas_in_values_are_escaped() {
        let base = Url::parse("https://api.example/v3/service_instances").expect("url");
        let urls = Query::default()
            .list("names", &["a,b".to_owned(), "c".to_owned()])
            .urls(&base, 5000, 8000);
        assert_eq!(urls.len(), 1);
        let names: Vec<(String, String)> = urls[0].query_pairs().into_owned().collect();
        assert_eq!(names[0], ("names".into(), "a%2Cb,c".into()));
    }
}
