"""Recording, retention and clips: rolling stream-copied MP4 segments per camera, a hash
chain over them, retention that never deletes held footage, and clips for evidence."""
