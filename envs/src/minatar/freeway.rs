//! Freeway (minatar `environments/freeway.py`): walk the chicken up through eight lanes of
//! wrapping traffic, +1 per crossing (which reshuffles car speeds); a car sends it back to the
//! bottom; the game ends after 2500 frames.

use serde::{Deserialize, Serialize};

use super::common::{Action, Draws, Game, Planes, ensure, on_board};

const CHICKEN: usize = 0;
const CAR: usize = 1;
/// Trail channels: `SPEED1 + |speed| - 1` for speeds 1..=5.
const SPEED1: usize = 2;

/// Frames between two chicken moves.
const PLAYER_SPEED: u8 = 3;
/// `terminate_timer` start: the game ends when it drops below 0, i.e. on frame 2501.
const TIME_LIMIT: i32 = 2500;
/// The chicken's column.
const CHICKEN_X: i8 = 4;

/// One lane's car: minatar's `[x, y, timer, speed]`; it moves one cell every `|speed| + 1`
/// frames in the direction of `speed`'s sign.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Car {
    pub(crate) x: i8,
    pub(crate) y: i8,
    pub(crate) timer: u8,
    pub(crate) speed: i8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Freeway {
    pub(crate) cars: [Car; 8],
    /// The chicken's row.
    pub(crate) pos: i8,
    pub(crate) move_timer: u8,
    pub(crate) terminate_timer: i32,
    pub(crate) terminal: bool,
}

impl Freeway {
    /// New random speeds and directions for all lanes (`_randomize_cars`); positions too when
    /// `initialize`. Draws eight speeds, then eight directions, as minatar does.
    fn randomize_cars(&mut self, initialize: bool, rng: &mut impl Draws) {
        let mut speeds = [0i8; 8];
        for s in &mut speeds {
            *s = rng.randint(1, 6) as i8;
        }
        for s in &mut speeds {
            // np.sign(rand() - 0.5); the tie at exactly 0.5 (probability 2^-53) counts as right.
            if rng.rand() < 0.5 {
                *s = -*s;
            }
        }
        for (i, (car, &speed)) in self.cars.iter_mut().zip(&speeds).enumerate() {
            if initialize {
                car.x = 0;
                car.y = i as i8 + 1;
            }
            car.timer = speed.unsigned_abs();
            car.speed = speed;
        }
    }

    /// A car on the chicken's cell sends it back to the bottom row.
    fn hit(&mut self, car: Car) {
        if car.x == CHICKEN_X && car.y == self.pos {
            self.pos = 9;
        }
    }
}

impl Game for Freeway {
    const ID: &'static str = "MinAtar/Freeway-v1";
    const CHANNELS: usize = 7;
    const ACTIONS: &'static [Action] = &[Action::Noop, Action::Up, Action::Down];

    fn new(_ramping: bool) -> Self {
        let car = Car {
            x: 0,
            y: 0,
            timer: 1,
            speed: 1,
        };
        let mut cars = [car; 8];
        for (i, c) in cars.iter_mut().enumerate() {
            c.y = i as i8 + 1;
        }
        Freeway {
            cars,
            pos: 9,
            move_timer: PLAYER_SPEED,
            terminate_timer: TIME_LIMIT,
            terminal: false,
        }
    }

    fn reset<R: Draws>(&mut self, rng: &mut R) {
        *self = Freeway::new(true);
        self.randomize_cars(true, rng);
    }

    fn act<R: Draws>(&mut self, action: Action, rng: &mut R) -> (u32, bool) {
        if self.terminal {
            return (0, true);
        }
        let mut reward = 0;
        if action == Action::Up && self.move_timer == 0 {
            self.move_timer = PLAYER_SPEED;
            self.pos = (self.pos - 1).max(0);
        } else if action == Action::Down && self.move_timer == 0 {
            self.move_timer = PLAYER_SPEED;
            self.pos = (self.pos + 1).min(9);
        }

        if self.pos == 0 {
            reward += 1;
            self.randomize_cars(false, rng);
            self.pos = 9;
        }

        for i in 0..self.cars.len() {
            self.hit(self.cars[i]);
            let car = &mut self.cars[i];
            if car.timer == 0 {
                car.timer = car.speed.unsigned_abs();
                car.x += car.speed.signum();
                car.x = if car.x < 0 {
                    9
                } else if car.x > 9 {
                    0
                } else {
                    car.x
                };
                let car = *car;
                self.hit(car);
            } else {
                car.timer -= 1;
            }
        }

        self.move_timer = self.move_timer.saturating_sub(1);
        self.terminate_timer -= 1;
        if self.terminate_timer < 0 {
            self.terminal = true;
        }
        (reward, self.terminal)
    }

    fn render(&self, planes: &mut Planes<'_>) {
        planes.set(CHICKEN, self.pos, CHICKEN_X);
        for car in &self.cars {
            planes.set(CAR, car.y, car.x);
            let back_x = (car.x - car.speed.signum()).rem_euclid(10);
            planes.set(
                SPEED1 + car.speed.unsigned_abs() as usize - 1,
                car.y,
                back_x,
            );
        }
    }

    fn check(&self) -> Result<(), String> {
        ensure(on_board(self.pos), "chicken off the board")?;
        ensure(self.move_timer <= PLAYER_SPEED, "move timer above 3")?;
        for car in &self.cars {
            ensure(on_board(car.x) && on_board(car.y), "car off the board")?;
            ensure(
                (1..=5).contains(&car.speed.unsigned_abs()),
                "car speed not in ±1..=5",
            )?;
            ensure(car.timer <= 5, "car timer above 5")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    fn rng() -> Pcg64 {
        Pcg64::seed_from_u64(3)
    }

    /// A game whose cars all sit far from the chicken's column, moving right every 6 frames.
    fn quiet() -> Freeway {
        let mut g = Freeway::new(true);
        for c in &mut g.cars {
            *c = Car {
                x: 8,
                y: c.y,
                timer: 5,
                speed: 5,
            };
        }
        g
    }

    #[test]
    fn reset_lines_cars_up_in_column_zero() {
        let mut g = Freeway::new(true);
        g.reset(&mut rng());
        for (i, c) in g.cars.iter().enumerate() {
            assert_eq!((c.x, c.y), (0, i as i8 + 1));
            assert!((1..=5).contains(&c.speed.abs()));
            assert_eq!(c.timer as i8, c.speed.abs());
        }
        assert_eq!((g.pos, g.move_timer, g.terminate_timer), (9, 3, 2500));
    }

    #[test]
    fn chicken_moves_once_every_three_frames() {
        let mut g = quiet();
        g.move_timer = 0;
        let mut rows = vec![];
        for _ in 0..7 {
            g.act(Action::Up, &mut rng());
            rows.push(g.pos);
        }
        assert_eq!(rows, vec![8, 8, 8, 7, 7, 7, 6]);
    }

    #[test]
    fn reaching_the_top_scores_and_restarts_at_the_bottom() {
        let mut g = quiet();
        g.pos = 1;
        g.move_timer = 0;
        assert_eq!(g.act(Action::Up, &mut rng()), (1, false));
        assert_eq!(g.pos, 9);
        // Speeds were redrawn, resetting each timer to |speed| before this frame's countdown.
        assert!(g.cars.iter().all(|c| c.timer as i8 == c.speed.abs() - 1));
        assert!(g.cars.iter().all(|c| c.x == 8));
    }

    #[test]
    fn a_car_moving_onto_the_chicken_knocks_it_back() {
        let mut g = quiet();
        g.pos = 5;
        g.cars[4] = Car {
            x: 3,
            y: 5,
            timer: 0,
            speed: 2,
        };
        g.act(Action::Noop, &mut rng());
        assert_eq!(g.pos, 9);
        assert_eq!((g.cars[4].x, g.cars[4].timer), (4, 2));
    }

    #[test]
    fn cars_wrap_around_and_keep_their_pace() {
        let mut g = quiet();
        g.cars[0] = Car {
            x: 9,
            y: 1,
            timer: 0,
            speed: 1,
        };
        g.cars[1] = Car {
            x: 0,
            y: 2,
            timer: 0,
            speed: -2,
        };
        g.act(Action::Noop, &mut rng());
        assert_eq!((g.cars[0].x, g.cars[0].timer), (0, 1));
        assert_eq!((g.cars[1].x, g.cars[1].timer), (9, 2));
        g.act(Action::Noop, &mut rng());
        g.act(Action::Noop, &mut rng());
        assert_eq!(g.cars[0].x, 1);
        assert_eq!(g.cars[1].x, 9);
    }

    #[test]
    fn game_ends_on_frame_2501() {
        let mut g = quiet();
        for _ in 0..2500 {
            assert!(!g.act(Action::Noop, &mut rng()).1);
        }
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, true));
    }

    #[test]
    fn render_puts_trails_behind_cars_by_speed() {
        let mut g = quiet();
        g.cars[0] = Car {
            x: 0,
            y: 1,
            timer: 0,
            speed: -3,
        };
        let mut buf = vec![0.0; 700];
        g.render(&mut Planes::new(&mut buf, 7, "t"));
        assert_eq!(buf[CHICKEN * 100 + 94], 1.0);
        assert_eq!(buf[CAR * 100 + 10], 1.0);
        assert_eq!(buf[(SPEED1 + 2) * 100 + 11], 1.0);
        // Speed 5 to the right, car at x 8: trail at x 7.
        assert_eq!(buf[(SPEED1 + 4) * 100 + 27], 1.0);
        assert_eq!(buf.iter().sum::<f32>(), 17.0);
    }
}
