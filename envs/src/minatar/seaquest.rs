//! Seaquest (minatar `environments/seaquest.py`): shoot fish and enemy subs (+1 each), collect
//! divers, surface before the oxygen runs out; six divers surfaced at once pay the oxygen left.
//! Every surfacing speeds enemies up when ramping.
//!
//! minatar keeps entities in Python lists that it walks backwards while removing items by value;
//! `PyList` reproduces that (including what happens when two entities compare equal), so the
//! game plays out exactly as the reference for the same draws.

use serde::{Deserialize, Serialize};

use super::common::{Action, Draws, Game, Planes, ensure, on_board, step_x};

const SUB_FRONT: usize = 0;
const SUB_BACK: usize = 1;
const FRIENDLY_BULLET: usize = 2;
const TRAIL: usize = 3;
const ENEMY_BULLET: usize = 4;
const ENEMY_FISH: usize = 5;
const ENEMY_SUB: usize = 6;
const OXYGEN_GAUGE: usize = 7;
const DIVER_GAUGE: usize = 8;
const DIVER: usize = 9;

const MAX_OXYGEN: i32 = 200;
const INIT_SPAWN_SPEED: i32 = 20;
const DIVER_SPAWN_SPEED: i32 = 30;
const INIT_MOVE_INTERVAL: i32 = 5;
const SHOT_COOL_DOWN: i32 = 5;
const ENEMY_SHOT_INTERVAL: i32 = 10;
const DIVER_MOVE_INTERVAL: i32 = 5;
/// Room reserved per entity list so stepping does not allocate.
const CAPACITY: usize = 64;

/// A bullet, minatar's `[x, y, dir]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Bullet {
    pub(crate) x: i8,
    pub(crate) y: i8,
    pub(crate) right: bool,
}

/// A fish or diver (`[x, y, lr, move_timer]`), or an enemy sub (`[..., shot_timer]`; fish and
/// divers keep `shot_timer` at 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Mover {
    pub(crate) x: i8,
    pub(crate) y: i8,
    pub(crate) right: bool,
    pub(crate) move_timer: i32,
    pub(crate) shot_timer: i32,
}

impl Mover {
    fn at(&self, x: i8, y: i8) -> bool {
        self.x == x && self.y == y
    }
}

/// A Python list's behaviour where minatar relies on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Vec<T>", from = "Vec<T>")]
#[serde(bound(
    serialize = "T: Clone + Serialize",
    deserialize = "T: Deserialize<'de>"
))]
pub(crate) struct PyList<T>(Vec<T>);

impl<T> From<Vec<T>> for PyList<T> {
    /// Restored lists get the same headroom as new ones.
    fn from(mut items: Vec<T>) -> Self {
        items.reserve(CAPACITY.saturating_sub(items.len()));
        PyList(items)
    }
}

impl<T> From<PyList<T>> for Vec<T> {
    fn from(list: PyList<T>) -> Vec<T> {
        list.0
    }
}

impl<T: PartialEq + Copy> PyList<T> {
    fn new() -> Self {
        PyList(Vec::with_capacity(CAPACITY))
    }

    /// `list.remove(value)`: drops the first equal item; returns its index.
    fn remove_value(&mut self, value: T) -> Option<usize> {
        let i = self.0.iter().position(|v| *v == value)?;
        self.0.remove(i);
        Some(i)
    }

    /// The next index of a `for item in reversed(list)` loop that is at `cursor` (initially
    /// `len - 1`): CPython stops as soon as the cursor is out of range.
    fn reversed_next(&self, cursor: &mut isize) -> Option<usize> {
        let i = *cursor;
        if i >= 0 && (i as usize) < self.0.len() {
            *cursor -= 1;
            Some(i as usize)
        } else {
            None
        }
    }

    fn reversed_start(&self) -> isize {
        self.0.len() as isize - 1
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Seaquest {
    pub(crate) oxygen: i32,
    /// Goes to -1 after surfacing with six divers (a minatar quirk kept for parity).
    pub(crate) diver_count: i32,
    pub(crate) sub_x: i8,
    pub(crate) sub_y: i8,
    /// Facing right.
    pub(crate) sub_or: bool,
    pub(crate) f_bullets: PyList<Bullet>,
    pub(crate) e_bullets: PyList<Bullet>,
    pub(crate) e_fish: PyList<Mover>,
    pub(crate) e_subs: PyList<Mover>,
    pub(crate) divers: PyList<Mover>,
    pub(crate) e_spawn_speed: i32,
    pub(crate) e_spawn_timer: i32,
    pub(crate) d_spawn_timer: i32,
    pub(crate) move_speed: i32,
    pub(crate) ramp_index: u32,
    pub(crate) shot_timer: i32,
    pub(crate) surface: bool,
    pub(crate) ramping: bool,
    pub(crate) terminal: bool,
}

impl Seaquest {
    fn sub_at(&self, x: i8, y: i8) -> bool {
        self.sub_x == x && self.sub_y == y
    }

    /// `_spawn_enemy`: a fish or (1/3) a sub at a random row's edge, unless that row already
    /// holds an enemy heading the other way.
    fn spawn_enemy(&mut self, rng: &mut impl Draws) {
        let right = rng.rand() < 0.5;
        let is_sub = rng.rand() < 1.0 / 3.0;
        let x = if right { 0 } else { 9 };
        let y = rng.randint(1, 9) as i8;
        let blocked = |list: &PyList<Mover>| list.0.iter().any(|z| z.y == y && z.right != right);
        if blocked(&self.e_subs) || blocked(&self.e_fish) {
            return;
        }
        let shot_timer = if is_sub { ENEMY_SHOT_INTERVAL } else { 0 };
        let enemy = Mover {
            x,
            y,
            right,
            move_timer: self.move_speed,
            shot_timer,
        };
        if is_sub {
            self.e_subs.0.push(enemy)
        } else {
            self.e_fish.0.push(enemy)
        }
    }

    /// `_spawn_diver`: a diver at a random row's edge.
    fn spawn_diver(&mut self, rng: &mut impl Draws) {
        let right = rng.rand() < 0.5;
        let x = if right { 0 } else { 9 };
        let y = rng.randint(1, 9) as i8;
        let diver = Mover {
            x,
            y,
            right,
            move_timer: DIVER_MOVE_INTERVAL,
            shot_timer: 0,
        };
        self.divers.0.push(diver);
    }

    /// `_surface`: refills oxygen, spends a diver (all six for a bonus), ramps difficulty.
    fn surface(&mut self) -> u32 {
        self.surface = true;
        let reward = if self.diver_count == 6 {
            self.diver_count = 0;
            (self.oxygen * 10).div_euclid(MAX_OXYGEN).max(0) as u32
        } else {
            0
        };
        self.oxygen = MAX_OXYGEN;
        self.diver_count -= 1;
        if self.ramping && (self.e_spawn_speed > 1 || self.move_speed > 2) {
            if self.move_speed > 2 && self.ramp_index % 2 == 1 {
                self.move_speed -= 1;
            }
            if self.e_spawn_speed > 1 {
                self.e_spawn_speed -= 1;
            }
            self.ramp_index += 1;
        }
        reward
    }

    fn update_f_bullets(&mut self, reward: &mut u32) {
        let mut cursor = self.f_bullets.reversed_start();
        while let Some(k) = self.f_bullets.reversed_next(&mut cursor) {
            let b = &mut self.f_bullets.0[k];
            b.x += step_x(b.right);
            let b = *b;
            if !on_board(b.x) {
                self.f_bullets.remove_value(b);
                continue;
            }
            // The first enemy on the bullet's cell, fish before subs, dies with it.
            for list in [&mut self.e_fish, &mut self.e_subs] {
                if let Some(i) = list.0.iter().position(|e| e.at(b.x, b.y)) {
                    list.0.remove(i);
                    self.f_bullets.remove_value(b);
                    *reward += 1;
                    break;
                }
            }
        }
    }

    fn update_divers(&mut self) {
        let mut cursor = self.divers.reversed_start();
        while let Some(k) = self.divers.reversed_next(&mut cursor) {
            let d = self.divers.0[k];
            if self.sub_at(d.x, d.y) && self.diver_count < 6 {
                self.divers.remove_value(d);
                self.diver_count += 1;
            } else if d.move_timer == 0 {
                let d = &mut self.divers.0[k];
                d.move_timer = DIVER_MOVE_INTERVAL;
                d.x += step_x(d.right);
                let d = *d;
                if !on_board(d.x) {
                    self.divers.remove_value(d);
                } else if self.sub_at(d.x, d.y) && self.diver_count < 6 {
                    self.divers.remove_value(d);
                    self.diver_count += 1;
                }
            } else {
                self.divers.0[k].move_timer -= 1;
            }
        }
    }

    /// Fish (`subs == false`) or enemy subs: collide with the player, move, die on a friendly
    /// bullet, and (subs) shoot.
    fn update_enemies(&mut self, subs: bool, reward: &mut u32) {
        let mut cursor = self.enemies(subs).reversed_start();
        while let Some(k) = self.enemies(subs).reversed_next(&mut cursor) {
            let mut e = self.enemies(subs).0[k];
            // Where the enemy object still is in the list (it may be removed below).
            let mut slot = Some(k);
            if self.sub_at(e.x, e.y) {
                self.terminal = true;
            }
            if e.move_timer == 0 {
                e.move_timer = self.move_speed;
                e.x += step_x(e.right);
                self.enemies(subs).0[k] = e;
                if !on_board(e.x) {
                    slot = self.remove_enemy(subs, e, k);
                } else if self.sub_at(e.x, e.y) {
                    self.terminal = true;
                } else if let Some(i) = self.f_bullets.0.iter().position(|b| e.at(b.x, b.y)) {
                    slot = self.remove_enemy(subs, e, k);
                    self.f_bullets.0.remove(i);
                    *reward += 1;
                }
            } else {
                e.move_timer -= 1;
                self.enemies(subs).0[k] = e;
            }
            if subs {
                // A sub shoots even on the frame it was destroyed or left the board.
                if e.shot_timer == 0 {
                    e.shot_timer = ENEMY_SHOT_INTERVAL;
                    self.e_bullets.0.push(Bullet {
                        x: e.x,
                        y: e.y,
                        right: e.right,
                    });
                } else {
                    e.shot_timer -= 1;
                }
                if let Some(i) = slot {
                    self.e_subs.0[i] = e;
                }
            }
        }
    }

    fn enemies(&mut self, subs: bool) -> &mut PyList<Mover> {
        if subs {
            &mut self.e_subs
        } else {
            &mut self.e_fish
        }
    }

    /// `list.remove(enemy)` for the enemy at index `k`; returns where that enemy object now is
    /// (`None` once removed; an earlier equal one may go instead).
    fn remove_enemy(&mut self, subs: bool, e: Mover, k: usize) -> Option<usize> {
        match self.enemies(subs).remove_value(e) {
            Some(i) if i < k => Some(k - 1),
            _ => None,
        }
    }

    fn update_e_bullets(&mut self) {
        let mut cursor = self.e_bullets.reversed_start();
        while let Some(k) = self.e_bullets.reversed_next(&mut cursor) {
            let b = &mut self.e_bullets.0[k];
            let hit_before = self.sub_x == b.x && self.sub_y == b.y;
            b.x += step_x(b.right);
            let b = *b;
            if hit_before {
                self.terminal = true;
            }
            if !on_board(b.x) {
                self.e_bullets.remove_value(b);
            } else if self.sub_at(b.x, b.y) {
                self.terminal = true;
            }
        }
    }
}

impl Game for Seaquest {
    const ID: &'static str = "MinAtar/Seaquest-v1";
    const CHANNELS: usize = 10;
    const ACTIONS: &'static [Action] = &[
        Action::Noop,
        Action::Left,
        Action::Up,
        Action::Right,
        Action::Down,
        Action::Fire,
    ];

    fn new(ramping: bool) -> Self {
        Seaquest {
            oxygen: MAX_OXYGEN,
            diver_count: 0,
            sub_x: 5,
            sub_y: 0,
            sub_or: false,
            f_bullets: PyList::new(),
            e_bullets: PyList::new(),
            e_fish: PyList::new(),
            e_subs: PyList::new(),
            divers: PyList::new(),
            e_spawn_speed: INIT_SPAWN_SPEED,
            e_spawn_timer: INIT_SPAWN_SPEED,
            d_spawn_timer: DIVER_SPAWN_SPEED,
            move_speed: INIT_MOVE_INTERVAL,
            ramp_index: 0,
            shot_timer: 0,
            surface: true,
            ramping,
            terminal: false,
        }
    }

    fn reset<R: Draws>(&mut self, _rng: &mut R) {
        // Field by field, so the lists keep their capacity.
        for list in [&mut self.f_bullets, &mut self.e_bullets] {
            list.0.clear();
        }
        for list in [&mut self.e_fish, &mut self.e_subs, &mut self.divers] {
            list.0.clear();
        }
        self.oxygen = MAX_OXYGEN;
        self.diver_count = 0;
        self.sub_x = 5;
        self.sub_y = 0;
        self.sub_or = false;
        self.e_spawn_speed = INIT_SPAWN_SPEED;
        self.e_spawn_timer = INIT_SPAWN_SPEED;
        self.d_spawn_timer = DIVER_SPAWN_SPEED;
        self.move_speed = INIT_MOVE_INTERVAL;
        self.ramp_index = 0;
        self.shot_timer = 0;
        self.surface = true;
        self.terminal = false;
    }

    fn act<R: Draws>(&mut self, action: Action, rng: &mut R) -> (u32, bool) {
        if self.terminal {
            return (0, true);
        }
        let mut reward = 0;

        if self.e_spawn_timer == 0 {
            self.spawn_enemy(rng);
            self.e_spawn_timer = self.e_spawn_speed;
        }
        if self.d_spawn_timer == 0 {
            self.spawn_diver(rng);
            self.d_spawn_timer = DIVER_SPAWN_SPEED;
        }

        if action == Action::Fire && self.shot_timer == 0 {
            let shot = Bullet {
                x: self.sub_x,
                y: self.sub_y,
                right: self.sub_or,
            };
            self.f_bullets.0.push(shot);
            self.shot_timer = SHOT_COOL_DOWN;
        } else if action == Action::Left {
            self.sub_x = (self.sub_x - 1).max(0);
            self.sub_or = false;
        } else if action == Action::Right {
            self.sub_x = (self.sub_x + 1).min(9);
            self.sub_or = true;
        } else if action == Action::Up {
            self.sub_y = (self.sub_y - 1).max(0);
        } else if action == Action::Down {
            self.sub_y = (self.sub_y + 1).min(8);
        }

        self.update_f_bullets(&mut reward);
        self.update_divers();
        self.update_enemies(true, &mut reward);
        self.update_e_bullets();
        self.update_enemies(false, &mut reward);

        for timer in [
            &mut self.e_spawn_timer,
            &mut self.d_spawn_timer,
            &mut self.shot_timer,
        ] {
            *timer -= (*timer > 0) as i32;
        }
        if self.oxygen <= 0 {
            self.terminal = true;
        }
        if self.sub_y > 0 {
            self.oxygen -= 1;
            self.surface = false;
        } else if !self.surface {
            if self.diver_count == 0 {
                self.terminal = true;
            } else {
                reward += self.surface();
            }
        }
        (reward, self.terminal)
    }

    fn render(&self, planes: &mut Planes<'_>) {
        planes.set(SUB_FRONT, self.sub_y, self.sub_x);
        // minatar indexes numpy with sub_x ± 1, which can only be -1 (wrapping to column 9).
        let back_x = (self.sub_x + if self.sub_or { -1 } else { 1 }).rem_euclid(10);
        planes.set(SUB_BACK, self.sub_y, back_x);
        for x in 0..(self.oxygen.max(0) * 10 / MAX_OXYGEN).min(10) {
            planes.set(OXYGEN_GAUGE, 9, x as i8);
        }
        for x in (9 - self.diver_count).max(0)..9 {
            planes.set(DIVER_GAUGE, 9, x as i8);
        }
        for b in &self.f_bullets.0 {
            planes.set(FRIENDLY_BULLET, b.y, b.x);
        }
        for b in &self.e_bullets.0 {
            planes.set(ENEMY_BULLET, b.y, b.x);
        }
        let lists = [
            (&self.e_fish, ENEMY_FISH),
            (&self.e_subs, ENEMY_SUB),
            (&self.divers, DIVER),
        ];
        for (list, channel) in lists {
            for e in &list.0 {
                planes.set(channel, e.y, e.x);
                let back_x = e.x - step_x(e.right);
                if on_board(back_x) {
                    planes.set(TRAIL, e.y, back_x);
                }
            }
        }
    }

    fn check(&self) -> Result<(), String> {
        ensure(
            on_board(self.sub_x) && (0..=8).contains(&self.sub_y),
            "sub off the board",
        )?;
        ensure(
            (-1..=MAX_OXYGEN).contains(&self.oxygen),
            "oxygen not in -1..=200",
        )?;
        ensure(
            (i32::MIN / 2..=6).contains(&self.diver_count),
            "diver count above 6",
        )?;
        let bullets = self.f_bullets.0.iter().chain(&self.e_bullets.0);
        ensure(
            bullets.clone().all(|b| on_board(b.x) && on_board(b.y)),
            "bullet off the board",
        )?;
        let movers = self
            .e_fish
            .0
            .iter()
            .chain(&self.e_subs.0)
            .chain(&self.divers.0);
        for m in movers {
            ensure(
                on_board(m.x) && on_board(m.y),
                "enemy or diver off the board",
            )?;
            ensure(
                (0..=INIT_MOVE_INTERVAL).contains(&m.move_timer),
                "move timer not in 0..=5",
            )?;
            ensure(
                (0..=ENEMY_SHOT_INTERVAL).contains(&m.shot_timer),
                "shot timer not in 0..=10",
            )?;
        }
        ensure(
            (1..=INIT_SPAWN_SPEED).contains(&self.e_spawn_speed),
            "spawn speed not in 1..=20",
        )?;
        ensure(
            (2..=INIT_MOVE_INTERVAL).contains(&self.move_speed),
            "move speed not in 2..=5",
        )?;
        ensure(
            (0..=INIT_SPAWN_SPEED).contains(&self.e_spawn_timer),
            "spawn timer not in 0..=20",
        )?;
        ensure(
            (0..=DIVER_SPAWN_SPEED).contains(&self.d_spawn_timer),
            "diver timer not in 0..=30",
        )?;
        ensure(
            (0..=SHOT_COOL_DOWN).contains(&self.shot_timer),
            "shot timer not in 0..=5",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    fn rng() -> Pcg64 {
        Pcg64::seed_from_u64(13)
    }

    /// A fresh game with spawning switched off (expected values below were checked against
    /// minatar 1.0.15 on the same states).
    fn quiet() -> Seaquest {
        let mut g = Seaquest::new(true);
        g.e_spawn_timer = 1000;
        g.d_spawn_timer = 1000;
        g
    }

    fn mover(x: i8, y: i8, right: bool, move_timer: i32, shot_timer: i32) -> Mover {
        Mover {
            x,
            y,
            right,
            move_timer,
            shot_timer,
        }
    }

    fn dived() -> Seaquest {
        let mut g = quiet();
        g.sub_y = 1;
        g.surface = false;
        g
    }

    #[test]
    fn surfacing_without_divers_ends_the_game() {
        assert_eq!(dived().act(Action::Up, &mut rng()), (0, true));
    }

    #[test]
    fn surfacing_with_divers_spends_one_refills_oxygen_and_ramps() {
        let mut g = dived();
        g.oxygen = 50;
        g.diver_count = 2;
        assert_eq!(g.act(Action::Up, &mut rng()), (0, false));
        assert_eq!((g.oxygen, g.diver_count, g.surface), (200, 1, true));
        assert_eq!((g.e_spawn_speed, g.move_speed, g.ramp_index), (19, 5, 1));
        // Staying up does not surface again.
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, false));
        assert_eq!(g.diver_count, 1);
    }

    #[test]
    fn six_divers_pay_the_oxygen_left_and_leave_minus_one() {
        let mut g = dived();
        g.oxygen = 57;
        g.diver_count = 6;
        assert_eq!(g.act(Action::Up, &mut rng()), (2, false));
        assert_eq!((g.oxygen, g.diver_count), (200, -1));
        let mut buf = vec![0.0; 1000];
        g.render(&mut Planes::new(&mut buf, 10, "t"));
        assert!(
            buf[DIVER_GAUGE * 100..DIVER_GAUGE * 100 + 100]
                .iter()
                .all(|&v| v == 0.0)
        );
        assert_eq!(
            buf[OXYGEN_GAUGE * 100 + 90..OXYGEN_GAUGE * 100 + 100],
            [1.0; 10]
        );
    }

    #[test]
    fn running_out_of_oxygen_ends_the_game_a_frame_later() {
        let mut g = dived();
        g.sub_y = 3;
        g.oxygen = 1;
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, false));
        assert_eq!(g.oxygen, 0);
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, true));
        assert_eq!(g.oxygen, -1);
    }

    #[test]
    fn a_torpedo_kills_a_fish() {
        let mut g = quiet();
        (g.sub_x, g.sub_y, g.sub_or) = (5, 4, true);
        g.e_fish.0.push(mover(7, 4, false, 3, 0));
        assert_eq!(g.act(Action::Fire, &mut rng()), (0, false));
        assert_eq!(
            g.f_bullets.0,
            vec![Bullet {
                x: 6,
                y: 4,
                right: true
            }]
        );
        assert_eq!(g.e_fish.0, vec![mover(7, 4, false, 2, 0)]);
        assert_eq!(g.act(Action::Noop, &mut rng()), (1, false));
        assert!(g.f_bullets.0.is_empty() && g.e_fish.0.is_empty());
    }

    #[test]
    fn enemy_subs_fire_every_eleventh_frame() {
        let mut g = quiet();
        g.e_subs.0.push(mover(0, 6, true, 5, 0));
        let mut counts = vec![];
        for _ in 0..25 {
            g.act(Action::Noop, &mut rng());
            counts.push(g.e_bullets.0.len());
        }
        let expected = [
            1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1,
        ];
        assert_eq!(counts, expected);
        assert_eq!(g.e_subs.0, vec![mover(4, 6, true, 4, 8)]);
    }

    #[test]
    fn a_sub_destroyed_by_moving_onto_a_torpedo_still_fires() {
        let mut g = quiet();
        g.e_subs.0.push(mover(3, 3, true, 0, 0));
        g.f_bullets.0.push(Bullet {
            x: 5,
            y: 3,
            right: false,
        });
        assert_eq!(g.act(Action::Noop, &mut rng()), (1, false));
        assert!(g.e_subs.0.is_empty() && g.f_bullets.0.is_empty());
        assert_eq!(
            g.e_bullets.0,
            vec![Bullet {
                x: 5,
                y: 3,
                right: true
            }]
        );
    }

    #[test]
    fn moving_onto_a_diver_picks_it_up() {
        let mut g = quiet();
        (g.sub_x, g.sub_y) = (3, 3);
        g.divers.0.push(mover(4, 3, true, 5, 0));
        assert_eq!(g.act(Action::Right, &mut rng()), (0, false));
        assert!(g.divers.0.is_empty());
        assert_eq!(g.diver_count, 1);
    }

    #[test]
    fn touching_a_fish_ends_the_game() {
        let mut g = quiet();
        (g.sub_x, g.sub_y) = (3, 3);
        g.e_fish.0.push(mover(4, 3, false, 5, 0));
        assert_eq!(g.act(Action::Right, &mut rng()), (0, true));
    }

    /// Plays back fixed draws.
    struct Fixed(Vec<f64>, Vec<i64>);

    impl Draws for Fixed {
        fn rand(&mut self) -> f64 {
            self.0.remove(0)
        }
        fn randint(&mut self, low: i64, high: i64) -> i64 {
            let v = self.1.remove(0);
            assert!((low..high).contains(&v));
            v
        }
    }

    #[test]
    fn no_spawn_into_a_row_with_opposite_traffic() {
        let mut g = quiet();
        g.e_fish.0.push(mover(2, 4, true, 5, 0));
        // Left-moving fish in row 4: refused; right-moving sub in row 4: spawned at x 0.
        g.spawn_enemy(&mut Fixed(vec![0.9, 0.9], vec![4]));
        assert_eq!(g.e_fish.0.len() + g.e_subs.0.len(), 1);
        g.spawn_enemy(&mut Fixed(vec![0.1, 0.1], vec![4]));
        assert_eq!(g.e_subs.0, vec![mover(0, 4, true, 5, 10)]);
    }

    #[test]
    fn pylist_loops_behave_like_cpython() {
        // Removing an earlier equal item from inside `for x in reversed(list)` shifts the current
        // one onto the cursor, so CPython visits it again and never visits the removed one.
        let mut list = PyList(vec![1, 2, 1, 3]);
        let mut visited = vec![];
        let mut cursor = list.reversed_start();
        while let Some(k) = list.reversed_next(&mut cursor) {
            let v = list.0[k];
            visited.push(v);
            if v == 1 && visited.len() == 2 {
                assert_eq!(list.remove_value(v), Some(0));
            }
        }
        assert_eq!(visited, vec![3, 1, 1, 2]);
        assert_eq!(list.0, vec![2, 1, 3]);
    }

    #[test]
    fn sub_removed_by_an_equal_twin_keeps_its_shot_timer() {
        // The moved sub equals the one before it, so `list.remove(sub)` removes that twin: the
        // sub itself stays, counts its shot timer down and is visited again.
        let mut g = quiet();
        g.e_subs.0 = vec![mover(4, 3, true, 5, 3), mover(3, 3, true, 0, 3)];
        g.f_bullets.0.push(Bullet {
            x: 4,
            y: 3,
            right: true,
        });
        let mut reward = 0;
        g.update_enemies(true, &mut reward);
        assert_eq!(reward, 1);
        assert_eq!(g.e_subs.0, vec![mover(4, 3, true, 4, 1)]);
    }

    #[test]
    fn restored_lists_get_capacity_back() {
        let mut g = quiet();
        g.e_fish.0.push(mover(1, 1, true, 1, 0));
        let back: Seaquest = serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        assert_eq!(back, g);
        assert!(back.e_fish.0.capacity() >= CAPACITY && back.divers.0.capacity() >= CAPACITY);
    }

    #[test]
    fn reset_keeps_list_capacity() {
        let mut g = quiet();
        g.e_fish.0.push(mover(1, 1, true, 1, 0));
        g.reset(&mut rng());
        assert!(g.e_fish.0.is_empty() && g.e_fish.0.capacity() >= CAPACITY);
        assert_eq!(g, Seaquest::new(true));
    }
}
