-- A sighting imported again is found by what identifies it, and a device
-- already asked about it is not asked twice.
CREATE INDEX sightings_identity ON sightings (ip, seen_at, source, family, c2);
CREATE INDEX sighting_questions_sighting ON sighting_questions (sighting_id, device_id);
