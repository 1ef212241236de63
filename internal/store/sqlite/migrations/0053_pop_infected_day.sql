-- The day (YYYY-MM-DD) a device last added to the new-infection
-- aggregate, so a device that turns contraindicated again the same day
-- (cured or reconnected in between) is counted once a day.
ALTER TABLE devices ADD COLUMN pop_infected_day TEXT NOT NULL DEFAULT '';
