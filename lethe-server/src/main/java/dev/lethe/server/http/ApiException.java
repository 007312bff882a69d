package dev.lethe.server.http;

/** An HTTP error with its status and a message for the client; rendered as RFC 9457 problem JSON. */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String title;

    public ApiException(int status, String title, String detail) {
        super(detail);
        this.status = status;
        this.title = title;
    }

    public static ApiException badRequest(String detail) {
        return new ApiException(400, "Bad request", detail);
    }

    public static ApiException notFound(String detail) {
        return new ApiException(404, "Not found", detail);
    }

    public static ApiException unauthorized(String detail) {
        return new ApiException(401, "Unauthorized", detail);
    }

    /** Seconds after which a client may try again (a Retry-After header), or 0. */
    private int retryAfterSeconds;

    /** The same problem, telling the client to try again after {@code seconds} (Retry-After). */
    public ApiException retryAfter(int seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public int status() {
        return status;
    }

    public String title() {
        return title;
    }
}
