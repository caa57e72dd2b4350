//! Deriving a world from a calm.yaml model.

use calm_core::Desired;

use super::World;

impl World {
    /// A world in which everything `desired` refers to exists.
    pub fn from_desired(_desired: &Desired, seed: u64) -> World {
        World::new(seed)
    }
}
