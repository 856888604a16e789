//! The maps and sets of the core: small, insertion-ordered, searched from the oldest entry.
//!
//! A room's collections are small (peers, connections, pending pings) or settle mostly in the
//! order they were filled (transfers awaiting acks, sends awaiting their promise), so a scan from
//! the oldest entry finds what it looks for at once. Removing leaves a hole that later
//! compaction closes, so settling in order moves nothing. Iteration follows insertion, so a
//! simulation replays exactly, and the `.wasm` carries far less code than hash or B-tree tables
//! would for every key and value type.

/// A map of keys to values, in insertion order.
#[derive(Debug, Clone)]
pub struct Map<K, V> {
    /// Entries in insertion order; a removed entry keeps its key and loses its value until the
    /// next compaction.
    slots: Vec<(K, Option<V>)>,
    live: usize,
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Self { slots: Vec::new(), live: 0 }
    }
}

impl<K: PartialEq, V> Map<K, V> {
    fn position<Q>(&self, key: &Q) -> Option<usize>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.slots.iter().position(|(k, v)| v.is_some() && k.borrow() == key)
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.slots[self.position(key)?].1.as_ref()
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        let i = self.position(key)?;
        self.slots[i].1.as_mut()
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let Some(old) = self.get_mut(&key) {
            return Some(std::mem::replace(old, value));
        }
        self.slots.push((key, Some(value)));
        self.live += 1;
        None
    }

    /// The value of `key`, inserted by `make` if absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = self.position(&key).unwrap_or_else(|| {
            self.live += 1;
            self.slots.push((key, None));
            self.slots.len() - 1
        });
        self.slots[i].1.get_or_insert_with(make)
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        let i = self.position(key)?;
        let value = self.slots[i].1.take();
        self.live -= 1;
        if self.slots.len() > 2 * self.live + 8 {
            self.slots.retain(|(_, v)| v.is_some());
        }
        value
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.slots.retain_mut(|(k, v)| v.as_mut().is_some_and(|v| keep(k, v)));
        self.live = self.slots.len();
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.live = 0;
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.slots.iter().filter_map(|(k, v)| Some((k, v.as_ref()?)))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.slots.iter_mut().filter_map(|(k, v)| Some((&*k, v.as_mut()?)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Removes and returns every entry, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, V)> + '_ {
        self.live = 0;
        self.slots.drain(..).filter_map(|(k, v)| Some((k, v?)))
    }
}

/// A set, in insertion order.
#[derive(Debug, Clone)]
pub struct Set<T> {
    map: Map<T, ()>,
}

impl<T> Default for Set<T> {
    fn default() -> Self {
        Self { map: Map::default() }
    }
}

impl<T: PartialEq> Set<T> {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.map.contains_key(value)
    }

    /// Adds `value`; returns whether it was new.
    pub fn insert(&mut self, value: T) -> bool {
        self.map.insert(value, ()).is_none()
    }

    pub fn remove<Q>(&mut self, value: &Q) -> bool
    where
        T: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.map.remove(value).is_some()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.map.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_insertion_order_and_replace_values() {
        let mut map = Map::default();
        assert_eq!(map.insert("b", 1), None);
        assert_eq!(map.insert("a", 2), None);
        assert_eq!(map.insert("b", 3), Some(1));
        assert_eq!(map.iter().collect::<Vec<_>>(), [(&"b", &3), (&"a", &2)]);
        *map.get_or_insert_with("c", || 0) += 5;
        *map.get_or_insert_with("c", || 0) += 5;
        assert_eq!(map.get("c"), Some(&10));
        assert_eq!(map.remove("b"), Some(3));
        map.retain(|_, v| *v > 2);
        assert_eq!(map.keys().collect::<Vec<_>>(), [&"c"]);
        assert_eq!(map.drain().collect::<Vec<_>>(), [("c", 10)]);
        assert!(map.is_empty());
    }

    #[test]
    fn sets_hold_each_value_once() {
        let mut set = Set::default();
        assert!(set.insert(String::from("x")));
        assert!(!set.insert(String::from("x")));
        assert!(set.contains("x"));
        assert!(set.remove("x"));
        assert_eq!(set.len(), 0);
    }
}
