"""With DEBUG off (as in production) the portal still serves its own CSS and JS."""


def test_the_portal_stylesheet_is_served_without_debug(client, settings):
    settings.DEBUG = False

    response = client.get("/static/portal/portal.css")

    assert response.status_code == 200
    assert b"{" in b"".join(response.streaming_content)
