-- A voice channel's SFU region (issue 16, placement): '' lets the cluster choose (the region of
-- the API node that places the channel, or the first joiner's hint).
ALTER TABLE channels ADD COLUMN rtc_region TEXT NOT NULL DEFAULT '';
