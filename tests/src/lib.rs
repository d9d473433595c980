pub mod onefile; pub mod pics;
