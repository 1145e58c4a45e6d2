"""Hearing the public and closing the loop: 好差评 ratings, 12345-style complaints, surveys,
hotspots and the public "you said, we did" (你说我改) board."""
