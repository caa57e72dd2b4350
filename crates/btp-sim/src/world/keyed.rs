//! Serde helpers: collections are kept as `IndexMap<id, T>` (fast lookup, stable creation order for
//! CF's default `order_by=created_at`), but written to world files as plain lists, so a hand-written
//! world does not repeat every GUID as a map key.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Something stored under its own id.
pub trait Keyed {
    /// The id the collection is keyed by.
    fn key(&self) -> &str;
}

/// Serialize the map's values as a list.
pub fn serialize<T: Serialize, S: Serializer>(
    map: &IndexMap<String, T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(map.values())
}

/// Read a list and key it by each item's id.
pub fn deserialize<'de, T: Deserialize<'de> + Keyed, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, T>, D::Error> {
    let items = Vec::<T>::deserialize(deserializer)?;
    let mut map = IndexMap::with_capacity(items.len());
    for item in items {
        let key = item.key().to_owned();
        if map.insert(key.clone(), item).is_some() {
            return Err(serde::de::Error::custom(format!("duplicate id `{key}`")));
        }
    }
    Ok(map)
}

macro_rules! keyed {
    ($($ty:ty => $field:ident),* $(,)?) => {
        $(impl Keyed for $ty {
            fn key(&self) -> &str {
                &self.$field
            }
        })*
    };
}

use super::model::*;
use super::services::*;

keyed! {
    GlobalAccount => guid,
    Subaccount => guid,
    EntitlementJob => id,
    Org => guid,
    Space => guid,
    Role => guid,
    Offering => guid,
    Plan => guid,
    ServiceInstance => guid,
    ServiceKey => guid,
    Job => guid,
    SmInstance => id,
    SmBinding => id,
    SmOperation => id,
}
