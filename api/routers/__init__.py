"""One router per public interface."""
