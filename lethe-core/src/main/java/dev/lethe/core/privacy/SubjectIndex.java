package dev.lethe.core.privacy;

import java.util.List;
import java.util.Map;

/**
 * Where the positions of the events that name each subject are kept, so that an export reads one
 * subject's events instead of the whole log. {@link SubjectIndexer} builds it from the log and keeps it
 * up to date; below its checkpoint it is complete, and the rest of the log is read. It holds
 * pseudonyms and positions, which the log's metadata holds too: no personal data.
 */
public interface SubjectIndex {
    /**
     * Where indexing resumes: the position of the next event to index (0 for none), with the {@link
     * dev.lethe.core.subscription.CheckpointFit#witness} of the event before it.
     */
    record Checkpoint(long next, String eventBefore) {}

    Checkpoint subjectIndexCheckpoint();

    /**
     * Adds the positions of the events that name each subject, and moves the checkpoint to {@code next}
     * (never back: a checkpoint already further stays), atomically. Adding a position twice keeps one.
     */
    void addToSubjectIndex(Map<SubjectId, List<Long>> positions, long next, String eventBefore);

    /** The positions indexed for {@code subject}, ascending. */
    List<Long> subjectPositions(SubjectId subject);

    /** Empties the index and its checkpoint, atomically (its log is another one now). */
    void resetSubjectIndex();
}
