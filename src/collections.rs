//! The maps and sets of the core: sorted vectors searched by bisection.
//!
//! Keys are mostly ids that only grow (connections, sends, pings, transfers), so new entries go
//! at the end; removing leaves a hole (the key stays, the value goes) that a later compaction
//! closes, so settling entries in order moves nothing. Lookups take a logarithmic number of
//! comparisons, iteration is in key order (a simulation replays exactly), and the `.wasm` carries
//! far less code than hash or B-tree tables would for every key and value type.

/// A map of keys to values, in key order.
#[derive(Debug, Clone)]
pub struct Map<K, V> {
    /// Entries sorted by key; a removed entry keeps its key until the next compaction.
    slots: Vec<(K, Option<V>)>,
    live: usize,
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Self { slots: Vec::new(), live: 0 }
    }
}

impl<K: Ord, V> Map<K, V> {
    /// Where `key` is or would go.
    fn search<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.slots.binary_search_by(|(k, _)| k.borrow().cmp(key))
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
        Q: Ord + ?Sized,
    {
        self.slots[self.search(key).ok()?].1.as_ref()
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let i = self.search(key).ok()?;
        self.slots[i].1.as_mut()
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    /// The index of `key`'s slot, made (empty) if the key is absent.
    fn slot(&mut self, key: K) -> usize {
        self.search(&key).unwrap_or_else(|i| {
            self.slots.insert(i, (key, None));
            i
        })
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let i = self.slot(key);
        let old = self.slots[i].1.replace(value);
        if old.is_none() {
            self.live += 1;
        }
        old
    }

    /// The value of `key`, inserted by `make` if absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = self.slot(key);
        if self.slots[i].1.is_none() {
            self.live += 1;
        }
        self.slots[i].1.get_or_insert_with(make)
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let i = self.search(key).ok()?;
        let value = self.slots[i].1.take()?;
        self.live -= 1;
        if self.slots.len() > 2 * self.live + 8 {
            self.slots.retain(|(_, v)| v.is_some());
        }
        Some(value)
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

    /// Removes and returns every entry, in key order.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, V)> + '_ {
        self.live = 0;
        self.slots.drain(..).filter_map(|(k, v)| Some((k, v?)))
    }
}

/// A set, in order.
#[derive(Debug, Clone)]
pub struct Set<T> {
    map: Map<T, ()>,
}

impl<T> Default for Set<T> {
    fn default() -> Self {
        Self { map: Map::default() }
    }
}

impl<T: Ord> Set<T> {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
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
        Q: Ord + ?Sized,
    {
        self.map.remove(value).is_some()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_key_order_and_replace_values() {
        let mut map = Map::default();
        assert_eq!(map.insert("b", 1), None);
        assert_eq!(map.insert("a", 2), None);
        assert_eq!(map.insert("b", 3), Some(1));
        assert_eq!(map.iter().collect::<Vec<_>>(), [(&"a", &2), (&"b", &3)]);
        *map.get_or_insert_with("c", || 0) += 5;
        *map.get_or_insert_with("c", || 0) += 5;
        assert_eq!(map.get("c"), Some(&10));
        assert_eq!(map.remove("b"), Some(3));
        assert_eq!((map.get("b"), map.len()), (None, 2));
        assert_eq!(map.insert("b", 4), None);
        map.retain(|_, v| *v > 2);
        assert_eq!(map.keys().collect::<Vec<_>>(), [&"b", &"c"]);
        assert_eq!(map.drain().collect::<Vec<_>>(), [("b", 4), ("c", 10)]);
        assert!(map.is_empty());
    }

    #[test]
    fn settling_in_order_keeps_the_map_small() {
        let mut map = Map::default();
        for id in 0..10_000u32 {
            map.insert(id, id);
        }
        for id in 0..9_990u32 {
            assert_eq!(map.remove(&id), Some(id));
        }
        assert_eq!(map.len(), 10);
        assert!(map.slots.len() <= 2 * map.len() + 9);
        assert_eq!(map.get(&9_995), Some(&9_995));
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
