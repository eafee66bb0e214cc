"""The instructor's side of the makemore MLP course: data provisioning, each section's
makemore.py (mlpcourse.library), the main job, and grading a class. Students never install it:
what they need is in each section's release folder."""
