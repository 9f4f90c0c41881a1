//! The shortest Rust program that loads a policy and acts: `act POLICY_FILE OBS...`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: act POLICY_FILE OBS...")?;
    let obs: Vec<f32> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    let mut policy = sparq_runtime::Policy::load(path)?;
    println!("{}", policy.act(&obs)?);
    Ok(())
}
